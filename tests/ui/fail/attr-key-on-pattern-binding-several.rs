use traced::traced;

#[traced]
fn area(#[attr("size")] (width, height): (u32, u32)) -> u32 {
    width * height
}

fn main() {}

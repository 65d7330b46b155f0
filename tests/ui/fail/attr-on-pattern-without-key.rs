use traced::traced;

#[traced]
fn area(#[attr] (width, height): (u32, u32)) -> u32 {
    width * height
}

fn main() {}

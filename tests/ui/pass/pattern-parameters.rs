use traced::testing::capture;
use traced::traced;

struct Point {
    x: i64,
    y: i64,
}

#[traced]
fn area(#[attr("size")] (width, height): (u32, u32), _: u8) -> u32 {
    width * height
}

#[traced]
fn norm(Point { x, y }: Point, #[attr("scale")] [a, b]: [i64; 2]) -> i64 {
    (x.abs() + y.abs()) * (a + b)
}

#[traced]
async fn sum_async((a, b): (u32, u32), #[attr("pair")] (c, d): (u32, u32)) -> u32 {
    a + b + c + d
}

fn main() {
    let (_, trace) = capture(|| {
        assert_eq!(area((2, 3), 0), 6);
        assert_eq!(norm(Point { x: -1, y: 2 }, [1, 1]), 6);
        let _ = sum_async((1, 2), (3, 4));
    });
    let span = trace.span("area");
    assert!(span.attributes.iter().any(|kv| kv.key.as_str() == "size"));
    let span = trace.span("norm");
    assert!(span.attributes.iter().any(|kv| kv.key.as_str() == "scale"));
}

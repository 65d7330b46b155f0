use traced::opentelemetry::Value;
use traced::testing::capture;
use traced::traced;

struct Point {
    x: i64,
    y: i64,
}

#[traced]
fn area(#[attr] (width, height): (u32, u32), _: u8) -> u32 {
    width * height
}

#[traced]
fn norm(Point { x, y }: Point, #[attr("scale")] [a, _]: [i64; 2], #[attr("flag")] _: bool) -> i64 {
    (x.abs() + y.abs()) * a
}

#[traced(attrs(sum = c + d))]
async fn sum_async((a, b): (u32, u32), #[attr] (c, d): (u32, u32)) -> u32 {
    a + b + c + d
}

fn main() {
    let (_, trace) = capture(|| {
        assert_eq!(area((2, 3), 0), 6);
        assert_eq!(norm(Point { x: -1, y: 2 }, [2, 1], true), 6);
        let _ = sum_async((1, 2), (3, 4));
    });
    let value = |name: &str, key: &str| {
        trace
            .span(name)
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.clone())
    };
    assert_eq!(value("area", "width"), Some(Value::I64(2)));
    assert_eq!(value("area", "height"), Some(Value::I64(3)));
    assert_eq!(value("norm", "scale"), Some(Value::I64(2)));
    assert_eq!(value("norm", "flag"), Some(Value::Bool(true)));
    assert_eq!(value("sum_async", "c"), Some(Value::I64(3)));
    assert_eq!(value("sum_async", "sum"), Some(Value::I64(7)));
}

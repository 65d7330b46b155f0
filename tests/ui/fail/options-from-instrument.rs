use traced::traced;

#[traced(fields(user.id = id), skip(password), skip_all, err, level = "info", target = "app", nmae = "login")]
fn login(id: u64, password: &str) -> Result<(), String> {
    let _ = (id, password);
    Ok(())
}

#[traced(ret(Debug), follows_from = cx)]
fn check(cx: &traced::opentelemetry::Context) -> u8 {
    let _ = cx;
    1
}

fn main() {}

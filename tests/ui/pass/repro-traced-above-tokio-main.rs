use traced::traced;

#[traced]
async fn step() {}

#[traced(kind = server)]
#[tokio::main(flavor = "current_thread")]
async fn main() {
    step().await;
}

#![deny(unused_variables)]

use traced::traced;

#[traced]
fn sync_lenient() {
    #![allow(unused_variables)]
    let unused = 1;
}

#[traced]
async fn async_lenient() {
    #![allow(unused_variables)]
    let unused = 1;
}

fn main() {
    sync_lenient();
    drop(async_lenient());
}

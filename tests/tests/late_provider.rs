//! Spans go to the global provider installed at call time, including one
//! installed after the first traced call, and one that replaces another.

use traced::traced;
use traced_tests::install_sdk_provider;

#[traced]
fn work() {}

#[test]
fn a_provider_installed_after_the_first_call_receives_spans() {
    work(); // nothing installed yet: goes nowhere
    let (_first_provider, first) = install_sdk_provider();
    work();
    assert_eq!(first.get_finished_spans().unwrap().len(), 1);

    let (_second_provider, second) = std::thread::spawn(install_sdk_provider).join().unwrap();
    work();
    work();
    assert_eq!(first.get_finished_spans().unwrap().len(), 1);
    assert_eq!(second.get_finished_spans().unwrap().len(), 2);
}

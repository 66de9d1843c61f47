//! Runs the tutorial example end to end.

#[path = "../examples/tutorial.rs"]
#[expect(dead_code, reason = "the example's main is not called here")]
mod tutorial;

#[test]
fn the_tutorial_runs_and_every_step_behaves() {
    let dir = tempfile::tempdir().unwrap();
    tutorial::run(dir.path()).unwrap();
}

//! The binary's own smoke test. (Its presence also makes `cargo test` build the
//! `chainsignal` binary that the end-to-end suites in tests/ run.)

use std::process::Command;

#[test]
fn help_and_version() {
    let bin = env!("CARGO_BIN_EXE_chainsignal");
    let out = Command::new(bin).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for sub in ["run", "demo", "report", "migrate", "export"] {
        assert!(help.contains(sub), "{sub} missing from --help");
    }
    let out = Command::new(bin).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("chainsignal "));
    let out = Command::new(bin)
        .args(["report", "--format", "xml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

//! `s3lite serve` as a process: generated keys printed on the first start only, a clean close on
//! SIGTERM, and one-line start-up errors for a taken port and a locked data directory.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

fn s3lite() -> Command {
    Command::new(env!("CARGO_BIN_EXE_s3lite"))
}

/// Starts `serve` on a free port, waits for its "listening" line, sends SIGTERM, and returns
/// (stdout, stderr, success).
fn start_and_stop(data: &std::path::Path) -> (String, String, bool) {
    let mut child = s3lite()
        .args(["serve", "--data"])
        .arg(data)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut stdout = String::new();
    loop {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        stdout.push_str(&line);
        if line.starts_with("listening on") {
            break;
        }
    }
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    stdout.push_str(&String::from_utf8_lossy(&output.stdout));
    (stdout, String::from_utf8_lossy(&output.stderr).into_owned(), output.status.success())
}

#[test]
fn first_start_prints_keys_once_and_sigterm_closes_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let (out, err, ok) = start_and_stop(&data);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("AWS_ACCESS_KEY_ID=AKIA"), "{out}");
    assert!(out.contains("AWS_SECRET_ACCESS_KEY="), "{out}");
    assert!(err.contains("store closed"), "{err}");
    let (out, err, ok) = start_and_stop(&data);
    assert!(ok, "{out}\n{err}");
    assert!(!out.contains("AWS_ACCESS_KEY_ID"), "keys are printed once: {out}");
    // The store reopens with the key the first start made.
    let store = s3lite::Store::open(&data).unwrap();
    assert_eq!(store.access_keys(&store.owner()).len(), 1);
    // The master-key file was made beside the data directory, private, and kept.
    let keys = dir.path().join("store.keys");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(s3lite::crypto::MasterKeys::open_file(&keys).unwrap().list().len(), 1);
}

#[test]
fn a_malformed_key_file_is_a_clear_start_up_error() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("elsewhere.keys");
    std::fs::write(&keys, "not a key file\n").unwrap();
    let out = s3lite()
        .args(["serve", "--data"])
        .arg(dir.path().join("store"))
        .arg("--key-file")
        .arg(&keys)
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot open the key file") && err.contains("line 1"), "{err}");
}

#[test]
fn taken_port_and_locked_directory_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = s3lite()
        .args(["serve", "--data"])
        .arg(dir.path().join("a"))
        .args(["--listen", &addr])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");

    let data = dir.path().join("b");
    let _held = s3lite::Store::open(&data).unwrap();
    let out =
        s3lite().args(["serve", "--data"]).arg(&data).args(["--listen", "127.0.0.1:0"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is in use by another process"), "{err}");
}

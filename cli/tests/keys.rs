//! `s3lite keys` as a process: rotate, list, rewrap and retire on a store's key file, after which
//! every object still reads and the old key is gone from the file; refusals exit non-zero with a
//! one-line reason and change nothing.

use std::process::Command;
use std::sync::Arc;

use s3lite::crypto::{KeyProvider, MasterKeys};
use s3lite::{GetOptions, PutOptions, Store};

fn s3lite(args: &[&str], data: &std::path::Path) -> (String, String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_s3lite"))
        .arg("keys")
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

fn read_all(store: &Store, key: &str) -> Vec<u8> {
    let b = store.bucket("b").unwrap().id;
    let (_, mut r) = store.get(b, key, &GetOptions::default()).unwrap();
    r.read_to_vec().unwrap()
}

#[test]
fn rotate_list_rewrap_and_retire_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let key_file = dir.path().join("store.keys");
    let keys = Arc::new(MasterKeys::create_file(&key_file).unwrap());
    let old = keys.active_key().unwrap();
    {
        let store = Store::builder(&data).key_provider(keys.clone()).open().unwrap();
        let b = store.create_bucket("b").unwrap();
        for i in 0..5 {
            store.put_bytes(b, &format!("k{i}"), &vec![i as u8; 100_000], &PutOptions::default()).unwrap();
        }
        store.close().unwrap();
    }
    let (out, err, ok) = s3lite(&["list"], &data);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("{old}  Active  -  5 live versions")), "{out}");

    let (out, err, ok) = s3lite(&["rotate"], &data);
    assert!(ok, "{err}");
    assert!(out.starts_with("active master key is now "), "{out}");

    // Still in use: the retirement is refused, with the reason, and the key stays.
    let (_, err, ok) = s3lite(&["retire", &old.to_string()], &data);
    assert!(!ok);
    assert!(err.contains("KMS.KMSInvalidStateException") && err.contains("5 live versions"), "{err}");
    assert!(MasterKeys::open_file(&key_file).unwrap().list().iter().any(|(id, _, _)| *id == old));

    let (out, err, ok) = s3lite(&["rewrap"], &data);
    assert!(ok, "{err}");
    assert!(out.contains("5 versions rewrapped, 0 left"), "{out}");
    let (out, err, ok) = s3lite(&["retire", &old.to_string()], &data);
    assert!(ok, "{err}");
    assert!(out.starts_with(&format!("retired {old}")), "{out}");

    let keys = Arc::new(MasterKeys::open_file(&key_file).unwrap());
    assert!(!keys.list().iter().any(|(id, _, _)| *id == old), "the old key left the key file");
    let store = Store::builder(&data).key_provider(keys).open().unwrap();
    for i in 0..5 {
        assert_eq!(read_all(&store, &format!("k{i}")), vec![i as u8; 100_000]);
    }
}

#[test]
fn bad_key_ids_and_a_missing_key_file_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let (_, err, ok) = s3lite(&["list"], &data);
    assert!(!ok);
    assert!(err.starts_with("s3lite: cannot open the key file") && err.lines().count() == 1, "{err}");
    MasterKeys::create_file(dir.path().join("store.keys")).unwrap();
    let (_, err, ok) = s3lite(&["retire", "not-hex"], &data);
    assert!(!ok);
    assert!(err.contains("key id \"not-hex\""), "{err}");
}

//! Crypto-shred of multipart uploads and objects (DESIGN §7.6): a sealed upload begun on a
//! shredding store owns a key slot (its start envelope wraps `upload key ⊕ secret`); its
//! completion hands the secret to a slot of the object's own, and the upload's slot is erased once
//! the completion (or an abort) is durable. So a deleted multipart object's parts, and an aborted
//! upload's, cannot be decrypted from the files with the master keys (or the SSE-C key) in hand,
//! whichever slot bytes an attacker tries, even before compaction; an upload in progress keeps its
//! slot across reopens.

mod common;

use std::sync::Arc;

use common::{body, small};
use s3lite::crypto::chunks::CHUNK_BYTES;
use s3lite::crypto::{CustomerKey, MasterKeys};
use s3lite::{CompleteOptions, Error, PartOptions, Store};

#[path = "common/multipart_attack.rs"]
mod multipart_attack;

use multipart_attack::*;

fn a_deleted_multipart_object_and_an_aborted_upload_cannot_be_decrypted(customer: Option<&CustomerKey>) {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MasterKeys::generate());
    let attacker = Attacker { keys: &keys, customer };
    let store = shredding(dir.path(), &keys).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let first = |seed| body(seed, 100_000)[..CHUNK_BYTES].to_vec();
    let (gone, kept) = (two_parts(&store, b, "gone", customer, 1), two_parts(&store, b, "kept", customer, 3));
    let aborted = two_parts(&store, b, "aborted", customer, 5);
    assert_eq!(owned_slots(dir.path()), 3, "one slot per upload in progress");
    // The attack works on an upload in progress (so it is a real attack), and only with its slot.
    assert_eq!(attacker.part_one(dir.path(), "aborted"), Some(first(5)));
    store.abort_upload(b, "aborted", &aborted).unwrap();
    assert_eq!(owned_slots(dir.path()), 2, "an abort erases its upload's slot");
    assert_eq!(attacker.part_one(dir.path(), "aborted"), None, "an aborted upload's part decrypts");
    complete(&store, b, "gone", &gone);
    complete(&store, b, "kept", &kept);
    assert_eq!(owned_slots(dir.path()), 2, "a completion hands its upload's slot to the object");
    let whole = |seed| [body(seed, 100_000), body(seed + 1, 30_000)].concat();
    assert_eq!(read(&store, b, "gone", customer).unwrap(), whole(1));
    assert_eq!(attacker.part_one(dir.path(), "gone"), Some(first(1)));
    store.delete(b, "gone").unwrap();
    assert_eq!(owned_slots(dir.path()), 1);
    // Nothing was compacted: the start, part and commit records are all in the files, and the
    // master key still opens both envelopes; no slot's bytes complete either half.
    let f = scan(dir.path(), "gone");
    assert_eq!((f.starts.len(), f.commits.len()), (1, 1), "the records are still there");
    assert_eq!(attacker.part_one(dir.path(), "gone"), None, "a deleted multipart object decrypts");
    assert_eq!(attacker.part_one(dir.path(), "kept"), Some(first(3)));
    drop(store);
    let store = shredding(dir.path(), &keys).open().unwrap();
    assert_eq!(store.recovery_report().key_slots_erased, 0, "nothing was left to sweep");
    assert_eq!(read(&store, b, "kept", customer).unwrap(), whole(3));
    assert_eq!(attacker.part_one(dir.path(), "gone"), None);
}

#[test]
fn a_deleted_multipart_object_or_aborted_upload_cannot_be_decrypted_from_the_files() {
    a_deleted_multipart_object_and_an_aborted_upload_cannot_be_decrypted(None);
}

#[test]
fn a_deleted_sse_c_multipart_object_or_aborted_upload_cannot_be_decrypted_even_with_the_key() {
    let ck = CustomerKey::from_bytes([9; 32]);
    a_deleted_multipart_object_and_an_aborted_upload_cannot_be_decrypted(Some(&ck));
}

#[test]
fn an_upload_in_progress_keeps_its_slot_across_reopens_and_completes() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MasterKeys::generate());
    let store = shredding(dir.path(), &keys).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    let id = two_parts(&store, b, "k", None, 1);
    drop(store);
    // The open's sweep counts the upload as its slot's owner.
    let store = shredding(dir.path(), &keys).open().unwrap();
    assert_eq!(store.recovery_report().key_slots_erased, 0);
    assert_eq!(owned_slots(dir.path()), 1);
    store.upload_part(b, "k", &id, 3, &body(7, 1000)[..], &PartOptions::default()).unwrap();
    store.checkpoint().unwrap();
    drop(store);
    // A store opened without the option still reads the upload's slot and hands it on.
    let store = small(Store::builder(dir.path())).key_provider(keys.clone()).open().unwrap();
    store
        .complete_upload(b, "k", &id, &[(1, None), (2, None), (3, None)], &CompleteOptions::default())
        .unwrap();
    let want = [body(1, 100_000), body(2, 30_000), body(7, 1000)].concat();
    assert_eq!(read(&store, b, "k", None).unwrap(), want);
    assert_eq!(owned_slots(dir.path()), 1, "the object's slot, the upload's erased");
    store.delete(b, "k").unwrap();
    assert_eq!(owned_slots(dir.path()), 0);
}

#[test]
fn a_refused_completion_leaves_no_slot_and_the_upload_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(MasterKeys::generate());
    let store = shredding(dir.path(), &keys).open().unwrap();
    let b = store.create_bucket("b").unwrap();
    store.put_bytes(b, "k", b"there", &s3lite::PutOptions::default()).unwrap();
    let id = two_parts(&store, b, "k", None, 1);
    assert_eq!(owned_slots(dir.path()), 2, "the object's and the upload's");
    // A condition that fails at the commit: nothing written, the object's new slot erased.
    let cond =
        CompleteOptions { condition: Some(s3lite::WriteCondition::IfAbsent), ..CompleteOptions::default() };
    let e = store.complete_upload(b, "k", &id, &[(1, None), (2, None)], &cond).unwrap_err();
    assert!(matches!(e, Error::PreconditionFailed { .. }), "{e}");
    assert_eq!(owned_slots(dir.path()), 2, "a refused completion's slot is erased");
    // A part number the upload lacks: refused before any slot is taken.
    let e =
        store.complete_upload(b, "k", &id, &[(1, None), (9, None)], &CompleteOptions::default()).unwrap_err();
    assert!(matches!(e, Error::InvalidPart { .. }), "{e}");
    assert_eq!(owned_slots(dir.path()), 2);
    complete(&store, b, "k", &id);
    assert_eq!(owned_slots(dir.path()), 1, "the replaced object's slot and the upload's are erased");
    assert_eq!(read(&store, b, "k", None).unwrap(), [body(1, 100_000), body(2, 30_000)].concat());
    // The upload is gone: a part or completion for it is NoSuchUpload, not an error of its slot.
    let e = store.upload_part(b, "k", &id, 1, &b"x"[..], &PartOptions::default()).unwrap_err();
    assert!(matches!(e, Error::NoSuchUpload { .. }), "{e}");
}

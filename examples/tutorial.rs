//! A newcomer's first session with S3, against an embedded store in a fresh temporary directory (or
//! the directory given as the first argument). Each step prints what it did; any step that does not
//! behave as S3 does ends the program with an error (non-zero exit).
//!
//! `cargo run --example tutorial [DIR]`

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use s3lite::api::ExtraArgs;
use s3lite::crypto::MasterKeys;
use s3lite::s3::types::{
    BucketVersioningStatus, CreateBucketConfiguration, Grant, Grantee, Group, ObjectOwnership, Permission,
    ServerSideEncryption,
};
use s3lite::types::iso8601;
use s3lite::{StorageClass, Store};

type Outcome = Result<(), Box<dyn Error>>;

fn check(ok: bool, what: &str) -> Outcome {
    if ok { Ok(()) } else { Err(format!("step misbehaved: {what}").into()) }
}

fn random_hex(n: usize) -> String {
    (0..n).map(|_| char::from_digit(rand::random::<u32>() % 16, 16).expect("digit below 16")).collect()
}

/// A bucket name from a prefix and a random UUID, as the S3 tutorial makes them.
fn bucket_name(prefix: &str) -> String {
    let h = random_hex(32);
    format!("{prefix}{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// A local file of `size` bytes of one repeated character, its name starting with 6 random hex digits.
fn make_file(dir: &Path, size: usize, ch: u8) -> std::io::Result<PathBuf> {
    let path = dir.join(format!("{}{}", random_hex(6), "_tutorial.txt"));
    std::fs::write(&path, vec![ch; size])?;
    Ok(path)
}

fn main() -> Outcome {
    let tmp;
    let dir = match std::env::args().nth(1) {
        Some(d) => PathBuf::from(d),
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    run(&dir)
}

/// The whole tutorial, in `dir` (the store goes to `dir/store`, local files to `dir/files`).
pub fn run(dir: &Path) -> Outcome {
    println!("== 1. open a store in eu-west-1 and sign in with the owner's credentials");
    let store = Store::builder(dir.join("store"))
        .region("eu-west-1")
        .owner_display_name("tutorial-owner")
        // Master keys for server-side encryption, in a file of their own beside the store.
        .key_provider(Arc::new(MasterKeys::open_or_create_file(dir.join("store.keys"))?))
        .open()?;
    let credentials = store.create_access_key(&store.owner())?;
    let client = store.client_with_credentials(&credentials)?;
    let resource = client.resource();
    println!(
        "store at {} in {}, acting as {}",
        dir.join("store").display(),
        store.region(),
        store.owner().display_name
    );

    println!("== 2. create two buckets in the store's region");
    let (first_name, second_name) = (bucket_name("python-sdk-sample-"), bucket_name("python-sdk-sample-"));
    let out = client.create_bucket().bucket(first_name.clone()).location_constraint("eu-west-1").send()?;
    println!(
        "client: created {first_name}: location {}, request id {}, HTTP {}",
        out.location,
        out.request_id(),
        out.http_status()
    );
    let second = resource.create_bucket(&second_name, Some("eu-west-1"))?;
    println!("resource: created {}", second.name());
    let e = client
        .create_bucket()
        .bucket(bucket_name("elsewhere-"))
        .location_constraint("us-west-2")
        .send()
        .unwrap_err();
    println!("a mismatched location constraint fails: {} ({})", e.code(), e.http_status());
    check(e.code() == "IllegalLocationConstraintException", "mismatched location constraint")?;
    let taken = client
        .create_bucket()
        .bucket(first_name.clone())
        .create_bucket_configuration(CreateBucketConfiguration {
            location_constraint: Some("eu-west-1".into()),
        })
        .send()
        .unwrap_err();
    println!("a taken name fails: {} ({})", taken.code(), taken.http_status());
    check(taken.code() == "BucketAlreadyOwnedByYou", "taken bucket name")?;

    println!("== 3. upload local files three ways");
    let files = dir.join("files");
    std::fs::create_dir_all(&files)?;
    let first_file = make_file(&files, 300, b'f')?;
    let third_file = make_file(&files, 400, b't')?;
    let name_of = |p: &Path| p.file_name().expect("a file name").to_string_lossy().into_owned();
    let (first_key, third_key) = (name_of(&first_file), name_of(&third_file));
    let first_bucket = resource.bucket(&first_name);
    first_bucket.object(&first_key).upload_file(&first_file, &ExtraArgs::default())?;
    println!("object handle: uploaded {first_key} to {first_name}");
    second.upload_file(&first_file, &first_key, &ExtraArgs::default())?;
    println!("bucket handle: uploaded {first_key} to {second_name}");
    let extra = ExtraArgs {
        content_type: Some("text/plain".into()),
        metadata: vec![("purpose".into(), "tutorial".into())],
        ..ExtraArgs::default()
    };
    client.upload_file(&third_file, &first_name, &third_key, &extra)?;
    println!("client: uploaded {third_key} to {first_name}");

    println!("== 4. lazy loading");
    let before = client.request_count();
    let first_object = first_bucket.object(&first_key);
    let first_object_again = resource.bucket(&first_name).object(&first_key);
    check(client.request_count() == before, "creating handles makes no call")?;
    println!("made two handles: {} calls", client.request_count() - before);
    let size = first_object.content_length()?;
    println!(
        "first attribute access loads: content length {size} ({} call)",
        client.request_count() - before
    );
    check(size == 300 && client.request_count() == before + 1, "the first attribute access makes one call")?;
    let etag = first_object.e_tag()?;
    check(client.request_count() == before + 1, "later attribute accesses make no call")?;
    println!(
        "ETag {etag} from the loaded attributes; the other handle has made no call: {}",
        first_object_again.key()
    );

    println!("== 5. download, copy, delete");
    let download = files.join("downloaded.txt");
    first_object.download_file(&download)?;
    check(std::fs::read(&download)? == std::fs::read(&first_file)?, "downloaded bytes match")?;
    println!("downloaded {first_key} to {} and compared: identical", download.display());
    let copied = second.object(&third_key);
    copied.copy_from(&first_name, &third_key)?;
    println!("copied {third_key} from {first_name} to {second_name}: {} bytes", copied.content_length()?);
    copied.delete()?;
    check(copied.reload().is_err_and(|e| e.code() == "NoSuchKey"), "the deleted copy is gone")?;
    println!("deleted the copy");

    println!("== 6. versioning");
    first_bucket.versioning().enable()?;
    check(
        first_bucket.versioning().status()? == Some(BucketVersioningStatus::Enabled),
        "versioning enabled",
    )?;
    first_bucket.object(&first_key).upload_file(&first_file, &ExtraArgs::default())?;
    first_bucket.object(&first_key).upload_file(&third_file, &ExtraArgs::default())?;
    let current = first_bucket.object(&first_key);
    let version = current.version_id()?;
    println!("uploaded {first_key} twice more; current version id {}", version.as_deref().unwrap_or("?"));
    check(version.is_some() && current.content_length()? == 400, "the newest upload is current")?;

    println!("== 6b. server-side encryption");
    let third_object = resource.bucket(&first_name).object(&third_key);
    let sse =
        ExtraArgs { server_side_encryption: Some(ServerSideEncryption::Aes256), ..ExtraArgs::default() };
    third_object.upload_file(&third_file, &sse)?;
    let shown = third_object.server_side_encryption()?;
    println!("uploaded {third_key} with ServerSideEncryption AES256; server_side_encryption = {shown:?}");
    check(shown.as_deref() == Some("AES256"), "the object reports AES256")?;
    let mut read = Vec::new();
    third_object.get()?.into_output().body.write_to(&mut read)?;
    check(read == std::fs::read(&third_file)?, "an encrypted object reads back as written")?;

    println!("== 6c. ACLs: today's S3 disables them on new buckets; enable them the documented way");
    let public = || {
        client
            .put_object()
            .bucket(second_name.clone())
            .key("public.txt")
            .body(b"hello, world".to_vec())
            .acl("public-read")
    };
    let e = public().send().unwrap_err();
    println!("upload with ACL public-read fails: {} ({})", e.code(), e.http_status());
    check(e.code() == "AccessControlListNotSupported", "ACLs are disabled on a new bucket")?;
    client
        .put_bucket_ownership_controls()
        .bucket(second_name.clone())
        .object_ownership(ObjectOwnership::ObjectWriter)
        .send()?;
    client.delete_public_access_block().bucket(second_name.clone()).send()?;
    public().send()?;
    let acl = client.get_object_acl().bucket(second_name.clone()).key("public.txt").send()?;
    for g in &acl.grants {
        println!("  grant {:?} to {:?}", g.permission, g.grantee);
    }
    check(
        acl.grants.len() == 2
            && acl.grants[0].permission == Permission::FullControl
            && acl.grants[1]
                == Grant { grantee: Grantee::Group(Group::AllUsers), permission: Permission::Read },
        "owner FULL_CONTROL and AllUsers READ",
    )?;
    let anonymous = store.anonymous_client();
    let read = anonymous.get_object().bucket(second_name.clone()).key("public.txt").send();
    println!("anonymous read of a public-read object: {}", if read.is_ok() { "200" } else { "refused" });
    check(read.is_ok(), "anonymous read works")?;
    client.put_object_acl().bucket(second_name.clone()).key("public.txt").acl("private").send()?;
    let e = anonymous.get_object().bucket(second_name.clone()).key("public.txt").send().unwrap_err();
    println!("after put_object_acl private, anonymous read: {} ({})", e.code(), e.http_status());
    check(e.code() == "AccessDenied", "anonymous read denied")?;

    println!("== 7. traverse");
    let names: Vec<String> = resource
        .buckets()
        .all()
        .into_iter()
        .map(|b| b.map(|b| b.name().to_owned()))
        .collect::<Result<_, _>>()?;
    println!("resource: buckets {names:?}");
    let listed = client.list_buckets().send()?;
    println!(
        "client: buckets {:?} owned by {} (display name {:?}: S3 stopped returning it in 2025)",
        listed.buckets.iter().map(|b| &b.name).collect::<Vec<_>>(),
        listed.owner.id,
        listed.owner.display_name
    );
    check(names.len() == 2 && listed.buckets.len() == 2, "two buckets")?;
    for bucket in [&first_bucket, &second] {
        for summary in bucket.objects().all() {
            let summary = summary?;
            let object = summary.object();
            println!(
                "  {}/{}: {} bytes, class {}, modified {}, version {:?}, metadata {:?}",
                bucket.name(),
                summary.key,
                summary.size,
                summary.storage_class.as_str(),
                iso8601(summary.last_modified),
                object.version_id()?,
                object.metadata()?
            );
            check(summary.storage_class == StorageClass::Standard, "storage class")?;
        }
    }

    println!("== 8. clean up");
    let e = first_bucket.delete().unwrap_err();
    println!("deleting a non-empty bucket fails: {} ({})", e.code(), e.http_status());
    check(e.code() == "BucketNotEmpty", "non-empty bucket")?;
    for bucket in [&first_bucket, &second] {
        let batches = bucket.object_versions().all().delete()?;
        let deleted: usize = batches.iter().map(|b| b.deleted.len()).sum();
        println!("deleted {deleted} versions of {} in {} batch(es)", bucket.name(), batches.len());
        check(batches.iter().all(|b| b.errors.is_empty()), "every version deleted")?;
    }
    first_bucket.delete()?;
    println!("resource: deleted {first_name}");
    client.delete_bucket().bucket(second_name.clone()).send()?;
    println!("client: deleted {second_name}");
    check(client.list_buckets().send()?.buckets.is_empty(), "no bucket left")?;
    println!("== done: every step behaved as S3 does");
    Ok(())
}

//! Issue 13, "the Rust API as a newcomer meets it": one test (at least) per item, through the public
//! API only.

use s3lite::Store;
use s3lite::s3::types::BucketVersioningStatus;

fn body_of(client: &s3lite::Client, bucket: &str, key: &str, version: Option<&str>) -> Vec<u8> {
    let mut get = client.get_object().bucket(bucket).key(key);
    if let Some(v) = version {
        get = get.version_id(v);
    }
    get.send().unwrap().body.read_to_vec().unwrap()
}

/// Item 1. S3's user guide, "Restoring previous versions": "Copy a previous version of the object
/// into the same bucket. The copied object becomes the current version of that object and all
/// object versions are preserved." Copying the current version onto itself stays refused.
#[test]
fn restoring_a_previous_version_by_copying_it_onto_its_key() {
    let store = Store::open_in_memory().unwrap();
    let client = store.client();
    client.create_bucket().bucket("photos").send().unwrap();
    // The null version, written before versioning was enabled.
    client.put_object().bucket("photos").key("cat.jpg").body(b"v-null").send().unwrap();
    let self_copy = |source: &str| {
        client
            .copy_object()
            .bucket("photos")
            .key("cat.jpg")
            .copy_source(source)
            .send()
            .map(|r| r.into_output())
    };
    // In an unversioned bucket the null version is the current one: still a copy onto itself.
    for source in ["photos/cat.jpg", "photos/cat.jpg?versionId=null"] {
        let e = self_copy(source).unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("InvalidRequest", 400), "{source}");
    }
    client.put_bucket_versioning().bucket("photos").status(BucketVersioningStatus::Enabled).send().unwrap();
    let v1 = client.put_object().bucket("photos").key("cat.jpg").body(b"v1").send().unwrap();
    let v1 = v1.version_id.clone().unwrap();
    let v2 = client.put_object().bucket("photos").key("cat.jpg").body(b"v2").send().unwrap();
    let v2 = v2.version_id.clone().unwrap();
    // The current version, named or not, cannot be copied onto itself unchanged.
    for source in ["photos/cat.jpg".to_string(), format!("photos/cat.jpg?versionId={v2}")] {
        let e = self_copy(&source).unwrap_err();
        assert_eq!(e.code(), "InvalidRequest", "{source}");
        assert!(e.to_string().contains("copy an object to itself"), "{e}");
    }
    // Restore v1: it becomes current, and every version is kept.
    let restored = self_copy(&format!("photos/cat.jpg?versionId={v1}")).unwrap();
    assert_eq!(restored.copy_source_version_id.as_deref(), Some(v1.as_str()));
    let v3 = restored.version_id.clone().unwrap();
    assert!(v3 != v1 && v3 != v2);
    assert_eq!(body_of(&client, "photos", "cat.jpg", None), b"v1");
    // Restore the null version the same way.
    let restored = self_copy("photos/cat.jpg?versionId=null").unwrap();
    assert_eq!(restored.copy_source_version_id.as_deref(), Some("null"));
    assert_eq!(body_of(&client, "photos", "cat.jpg", None), b"v-null");
    let versions = client.list_object_versions().bucket("photos").send().unwrap();
    let ids: Vec<&str> = versions.versions.iter().map(|v| v.version_id.as_str()).collect();
    assert_eq!(ids.len(), 5, "null, v1, v2, the restored v1 and the restored null: {ids:?}");
    assert!(ids.contains(&"null") && ids.contains(&v1.as_str()) && ids.contains(&v2.as_str()));
    for (id, want) in [("null", &b"v-null"[..]), (v1.as_str(), b"v1"), (v2.as_str(), b"v2")] {
        assert_eq!(body_of(&client, "photos", "cat.jpg", Some(id)), want, "{id}");
    }
    // The user guide's other way: permanently delete the current version, the previous one becomes
    // current.
    let current = versions.versions.iter().find(|v| v.is_latest).unwrap().version_id.clone();
    client.delete_object().bucket("photos").key("cat.jpg").version_id(current).send().unwrap();
    assert_eq!(body_of(&client, "photos", "cat.jpg", None), b"v1");
    // Behind a current delete marker, even the newest version may be copied back onto the key.
    client.delete_object().bucket("photos").key("cat.jpg").send().unwrap();
    let newest = client.list_object_versions().bucket("photos").send().unwrap();
    let newest = newest.versions.iter().find(|v| v.version_id != "null").unwrap().version_id.clone();
    self_copy(&format!("photos/cat.jpg?versionId={newest}")).unwrap();
    assert_eq!(body_of(&client, "photos", "cat.jpg", None), b"v1");
}

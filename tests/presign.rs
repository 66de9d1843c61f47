//! Access keys' lifecycle (IAM's CreateAccessKey, UpdateAccessKey, DeleteAccessKey,
//! ListAccessKeys) and presigned URLs made by the client and judged in process by
//! `Store::verify_presigned` on the store's clock.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use s3lite::prelude::*;
use s3lite::sigv4::{self, Request, Signer};
use s3lite::{AccessKeyStatus, PresignedOperation, PresignedOperation::*};

const T0_MS: u64 = 1_700_000_000_000;

fn store_at(clock: &Arc<ManualClock>) -> Store {
    Store::in_memory_builder().clock(clock.clone()).open().unwrap()
}

fn clocked() -> (Store, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0_MS));
    (store_at(&clock), clock)
}

/// A store, an account with a key, a client from it with a bucket and an object.
fn with_alice() -> (Store, Arc<ManualClock>, Credentials, Client) {
    let (store, clock) = clocked();
    let alice = store.create_account("alice").unwrap();
    let keys = store.create_access_key(&alice).unwrap();
    let client = store.client_with_credentials(&keys).unwrap();
    client.create_bucket().bucket("photos").send().unwrap();
    client.put_object().bucket("photos").key("my cat+1.jpg").body(b"meow").send().unwrap();
    (store, clock, keys, client)
}

fn code(r: Result<impl std::fmt::Debug, Error>) -> (&'static str, u16) {
    let e = r.unwrap_err();
    (e.code(), e.http_status())
}

// ---------------------------------------------------------------------------------------------
// Access keys

#[test]
fn an_account_has_at_most_two_keys_as_iam_allows() {
    let (store, _) = clocked();
    let alice = store.create_account("alice").unwrap();
    store.create_access_key(&alice).unwrap();
    store.create_access_key(&alice).unwrap();
    let err = store.create_access_key(&alice).unwrap_err();
    assert_eq!((err.code(), err.http_status()), ("LimitExceeded", 409));
    assert_eq!(err.message(), "Cannot exceed quota for AccessKeysPerUser: 2");
    assert_eq!(s3lite::ACCESS_KEYS_PER_ACCOUNT_MAX, 2);
    // Inactive keys count; a deleted one frees its place.
    let first = store.list_access_keys(&alice)[0].access_key_id.clone();
    store.update_access_key(&first, AccessKeyStatus::Inactive).unwrap();
    assert_eq!(code(store.create_access_key(&alice)), ("LimitExceeded", 409));
    store.delete_access_key(&first).unwrap();
    store.create_access_key(&alice).unwrap();
    // A host's configured keys are imports, not held to the quota (and counted by it).
    let given = Credentials { access_key_id: "AKIAHOSTKEY".into(), secret_access_key: "host-secret".into() };
    store.import_access_key(&alice, &given).unwrap();
    assert_eq!(store.access_keys(&alice).len(), 3);
    assert_eq!(code(store.create_access_key(&alice)), ("LimitExceeded", 409));
    // Other accounts have their own quota.
    let bob = store.create_account("bob").unwrap();
    store.create_access_key(&bob).unwrap();
}

#[test]
fn keys_are_listed_with_status_and_creation_date() {
    let (store, clock) = clocked();
    let alice = store.create_account("alice").unwrap();
    let first = store.create_access_key(&alice).unwrap();
    clock.advance_ms(5_000);
    let second = store.create_access_key(&alice).unwrap();
    store.update_access_key(&first.access_key_id, AccessKeyStatus::Inactive).unwrap();
    let listed = store.list_access_keys(&alice);
    let seen: Vec<_> = listed.iter().map(|k| (k.access_key_id.as_str(), k.status, k.create_date)).collect();
    assert_eq!(
        seen,
        [
            (
                first.access_key_id.as_str(),
                AccessKeyStatus::Inactive,
                Some(UNIX_EPOCH + Duration::from_millis(T0_MS))
            ),
            (
                second.access_key_id.as_str(),
                AccessKeyStatus::Active,
                Some(UNIX_EPOCH + Duration::from_millis(T0_MS + 5_000))
            ),
        ]
    );
    assert!(listed.iter().all(|k| k.canonical_id == alice.canonical_id));
    assert_eq!(AccessKeyStatus::Inactive.as_str(), "Inactive");
    assert!(store.list_access_keys(&store.create_account("bob").unwrap()).is_empty());
}

#[test]
fn a_deactivated_key_stops_working_at_once_and_comes_back_when_reactivated() {
    let (store, _, keys, client) = with_alice();
    let id = keys.access_key_id.as_str();
    let made_before = store.client_with_credentials(&keys).unwrap();
    store.update_access_key(id, AccessKeyStatus::Inactive).unwrap();
    store.update_access_key(id, AccessKeyStatus::Inactive).unwrap(); // no change: fine
    assert_eq!(code(store.authenticate(&keys)), ("InvalidAccessKeyId", 403));
    assert!(store.access_key_secret(id).is_none(), "a host gets no secret, so refuses its signatures");
    assert_eq!(code(store.client_with_credentials(&keys)), ("InvalidAccessKeyId", 403));
    // Clients made from it before fail their next call, every operation alike.
    assert_eq!(code(made_before.head_bucket().bucket("photos").send()), ("InvalidAccessKeyId", 403));
    assert_eq!(
        code(client.get_object().bucket("photos").key("my cat+1.jpg").send()),
        ("InvalidAccessKeyId", 403)
    );
    assert_eq!(
        code(client.resource().bucket("photos").objects().all().into_iter().next().unwrap()),
        ("InvalidAccessKeyId", 403)
    );
    assert_eq!(
        code(client.generate_presigned_url(GetObject, "photos", "k", Duration::from_secs(60))),
        ("InvalidAccessKeyId", 403)
    );
    store.update_access_key(id, AccessKeyStatus::Active).unwrap();
    assert_eq!(store.authenticate(&keys).unwrap().display_name, "alice");
    client.head_bucket().bucket("photos").send().unwrap();
    made_before.head_bucket().bucket("photos").send().unwrap();
}

#[test]
fn a_deleted_key_is_gone() {
    let (store, _, keys, client) = with_alice();
    let id = keys.access_key_id.as_str();
    store.delete_access_key(id).unwrap();
    assert_eq!(code(store.authenticate(&keys)), ("InvalidAccessKeyId", 403));
    assert!(store.access_key_secret(id).is_none());
    assert_eq!(code(client.head_bucket().bucket("photos").send()), ("InvalidAccessKeyId", 403));
    let err = store.delete_access_key(id).unwrap_err();
    assert_eq!((err.code(), err.http_status()), ("NoSuchEntity", 404));
    assert_eq!(err.message(), format!("The Access Key with id {id} cannot be found."));
    assert_eq!(code(store.update_access_key(id, AccessKeyStatus::Active)), ("NoSuchEntity", 404));
    assert!(store.list_access_keys(&client.caller().unwrap().clone()).is_empty());
}

#[test]
fn key_lifecycle_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0_MS));
    let open = || Store::builder(dir.path().join("store")).clock(clock.clone()).open().unwrap();
    let (alice, kept, paused, gone) = {
        let store = open();
        let alice = store.create_account("alice").unwrap();
        let kept = store.create_access_key(&alice).unwrap();
        let paused = store.create_access_key(&alice).unwrap();
        store.update_access_key(&paused.access_key_id, AccessKeyStatus::Inactive).unwrap();
        let owner = store.owner();
        let gone = store.create_access_key(&owner).unwrap();
        store.delete_access_key(&gone.access_key_id).unwrap();
        (alice, kept, paused, gone)
    };
    let store = open();
    assert_eq!(store.authenticate(&kept).unwrap(), alice);
    assert_eq!(code(store.authenticate(&paused)), ("InvalidAccessKeyId", 403));
    assert_eq!(code(store.authenticate(&gone)), ("InvalidAccessKeyId", 403));
    let listed = store.list_access_keys(&alice);
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].status, AccessKeyStatus::Inactive);
    assert_eq!(listed[0].create_date, Some(UNIX_EPOCH + Duration::from_millis(T0_MS)));
    assert!(store.list_access_keys(&store.owner()).is_empty());
    assert_eq!(code(store.create_access_key(&alice)), ("LimitExceeded", 409));
    store.update_access_key(&paused.access_key_id, AccessKeyStatus::Active).unwrap();
    drop(store);
    assert_eq!(open().authenticate(&paused).unwrap(), alice);
}

#[test]
fn no_debug_form_shows_a_secret() {
    let (_, _, keys, client) = with_alice();
    for shown in [format!("{keys:?}"), format!("{client:?}")] {
        assert!(shown.contains(&keys.access_key_id), "{shown}");
        assert!(!shown.contains(&keys.secret_access_key), "{shown}");
    }
    let presigned =
        client.presign(PutObject).bucket("photos").key("k").sse_customer_key(&[7; 32]).build().unwrap();
    let shown = format!("{presigned:?}");
    assert!(!shown.contains(&keys.secret_access_key) && shown.contains("<hidden>"), "{shown}");
}

// ---------------------------------------------------------------------------------------------
// Presigned URLs

#[test]
fn every_method_round_trips() {
    let (store, _, keys, client) = with_alice();
    for op in [GetObject, PutObject, HeadObject, DeleteObject] {
        let url =
            client.generate_presigned_url(op, "photos", "my cat+1.jpg", Duration::from_secs(3600)).unwrap();
        assert!(url.starts_with("http://127.0.0.1:9000/photos/my%20cat%2B1.jpg?"), "{url}");
        for param in [
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            &format!("X-Amz-Credential={}%2F20231114%2Fus-east-1%2Fs3%2Faws4_request", keys.access_key_id),
            "X-Amz-Date=20231114T221320Z",
            "X-Amz-Expires=3600",
            "X-Amz-SignedHeaders=host",
            "X-Amz-Signature=",
        ] {
            assert!(url.contains(param), "{param} in {url}");
        }
        let account = store.verify_presigned(op.http_method(), &url, &[]).unwrap();
        assert_eq!(account.display_name, "alice");
        // The path and query alone, with the host as a header, verify the same.
        let path_and_query = url.strip_prefix("http://127.0.0.1:9000").unwrap();
        store.verify_presigned(op.http_method(), path_and_query, &[("Host", "127.0.0.1:9000")]).unwrap();
        // Another method is another request.
        let other = if op == GetObject { "PUT" } else { "GET" };
        assert_eq!(code(store.verify_presigned(other, &url, &[])), ("SignatureDoesNotMatch", 403));
    }
}

#[test]
fn keys_are_encoded_as_s3_requires() {
    let (store, _, _, client) = with_alice();
    for (key, path) in [
        ("a/b/c.txt", "/photos/a/b/c.txt"),
        ("fotos/año/café ☕.txt", "/photos/fotos/a%C3%B1o/caf%C3%A9%20%E2%98%95.txt"),
        ("a+b~c=d&e?.txt", "/photos/a%2Bb~c%3Dd%26e%3F.txt"),
        ("a//b/./c/../d/", "/photos/a//b/./c/../d/"),
    ] {
        let url = client.generate_presigned_url(GetObject, "photos", key, Duration::from_secs(60)).unwrap();
        assert!(url.starts_with(&format!("http://127.0.0.1:9000{path}?")), "{url}");
        store.verify_presigned("GET", &url, &[]).unwrap();
    }
}

#[test]
fn expiry_is_one_second_to_seven_days() {
    let (store, clock, _, client) = with_alice();
    let presign = |secs| client.generate_presigned_url(GetObject, "photos", "k", Duration::from_secs(secs));
    for secs in [0, 604_801] {
        let err = presign(secs).unwrap_err();
        assert_eq!((err.code(), err.http_status()), ("AuthorizationQueryParametersError", 400), "{secs}");
    }
    assert_eq!(
        code(
            client
                .presign(GetObject)
                .bucket("photos")
                .key("k")
                .expires_in(Duration::from_millis(999))
                .build()
        )
        .0,
        "AuthorizationQueryParametersError"
    );
    let one = presign(1).unwrap();
    let week = presign(604_800).unwrap();
    store.verify_presigned("GET", &one, &[]).unwrap();
    clock.advance_ms(1_000);
    store.verify_presigned("GET", &one, &[]).unwrap(); // X-Amz-Date + 1 s is still in time
    clock.advance_ms(1_000);
    let err = store.verify_presigned("GET", &one, &[]).unwrap_err();
    assert_eq!((err.code(), err.http_status()), ("AccessDenied", 403));
    assert!(err.message().ends_with("Request has expired"), "{err}");
    clock.advance_ms(604_800_000 - 2_000);
    store.verify_presigned("GET", &week, &[]).unwrap();
    clock.advance_ms(1_000);
    assert_eq!(code(store.verify_presigned("GET", &week, &[])), ("AccessDenied", 403));
}

/// A correctly signed URL with any `X-Amz-Expires`, as another client could make one.
fn signed_url(store: &Store, keys: &Credentials, expires: u64, time_secs: u64, region: &str) -> String {
    let path = "/photos/k";
    let headers = [("host".to_owned(), "127.0.0.1:9000".to_owned())];
    let signer = Signer {
        access_key_id: &keys.access_key_id,
        secret_access_key: &keys.secret_access_key,
        region,
        time_secs,
    };
    let _ = store;
    let query =
        signer.presign_query(&Request { method: "GET", path, query: &[], headers: &headers }, expires);
    format!("http://127.0.0.1:9000{path}?{query}")
}

#[test]
fn the_verifier_judges_expiry_as_s3_does() {
    let (store, _, keys, _) = with_alice();
    let now = T0_MS / 1000;
    let err =
        store.verify_presigned("GET", &signed_url(&store, &keys, 0, now, "us-east-1"), &[]).unwrap_err();
    assert_eq!((err.code(), err.http_status()), ("AccessDenied", 403));
    assert!(err.message().ends_with("Request has expired"));
    let err = store
        .verify_presigned("GET", &signed_url(&store, &keys, 604_801, now, "us-east-1"), &[])
        .unwrap_err();
    assert_eq!((err.code(), err.http_status()), ("AuthorizationQueryParametersError", 400));
    assert!(err.message().contains("less than a week"), "{err}");
    store.verify_presigned("GET", &signed_url(&store, &keys, 604_800, now, "us-east-1"), &[]).unwrap();
    // Signed for another region than the store's.
    let err =
        store.verify_presigned("GET", &signed_url(&store, &keys, 60, now, "eu-west-1"), &[]).unwrap_err();
    assert_eq!(err.code(), "AuthorizationQueryParametersError");
    assert!(err.message().contains("the region 'eu-west-1' is wrong; expecting 'us-east-1'"), "{err}");
    // Dated ahead of the store's clock: within S3's 15 minutes of skew, fine; beyond, not yet valid.
    store.verify_presigned("GET", &signed_url(&store, &keys, 60, now + 900, "us-east-1"), &[]).unwrap();
    let err = store
        .verify_presigned("GET", &signed_url(&store, &keys, 60, now + 901, "us-east-1"), &[])
        .unwrap_err();
    assert_eq!((err.code(), err.message().ends_with("Request is not valid yet")), ("AccessDenied", true));
}

#[test]
fn a_tampered_url_does_not_match() {
    let (store, _, _, client) = with_alice();
    let url = client
        .presign(GetObject)
        .bucket("photos")
        .key("my cat+1.jpg")
        .expires_in(Duration::from_secs(600))
        .response_content_type("text/plain")
        .build()
        .unwrap()
        .url;
    store.verify_presigned("GET", &url, &[]).unwrap();
    let sig_at = url.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let mut flipped = url.clone().into_bytes();
    flipped[sig_at] = if flipped[sig_at] == b'0' { b'1' } else { b'0' };
    let tampered = [
        String::from_utf8(flipped).unwrap(),
        url.replace("my%20cat%2B1.jpg", "my%20dog%2B1.jpg"),
        url.replace("X-Amz-Expires=600", "X-Amz-Expires=6000"),
        url.replace("response-content-type=text%2Fplain", "response-content-type=text%2Fhtml"),
        url.replace("?", "?versionId=abc&"),
        url.replace("127.0.0.1:9000", "127.0.0.1:9001"),
    ];
    for t in &tampered {
        assert_eq!(code(store.verify_presigned("GET", t, &[])), ("SignatureDoesNotMatch", 403), "{t}");
    }
    // Escapes a client need not make (an unreserved byte as %XX) canonicalize to the same request.
    let re_escaped = url.replace("/photos/", "/%70hotos/");
    store.verify_presigned("GET", &re_escaped, &[]).unwrap();
    // Parameters missing or twice.
    let no_date = url.replace("X-Amz-Date=", "X-Amz-Dat=");
    assert_eq!(
        code(store.verify_presigned("GET", &no_date, &[])),
        ("AuthorizationQueryParametersError", 400)
    );
    let twice = format!("{url}&X-Amz-Expires=1");
    assert_eq!(code(store.verify_presigned("GET", &twice, &[])), ("AuthorizationQueryParametersError", 400));
}

#[test]
fn foreign_deactivated_and_deleted_keys_are_refused() {
    let (store, clock, keys, client) = with_alice();
    let url = client.generate_presigned_url(GetObject, "photos", "k", Duration::from_secs(600)).unwrap();
    let now = clock.now_ms() / 1000;
    // Another secret under the same id; an id the store does not have.
    let foreign = Credentials { secret_access_key: "not-alices-secret".into(), ..keys.clone() };
    assert_eq!(
        code(store.verify_presigned("GET", &signed_url(&store, &foreign, 60, now, "us-east-1"), &[])),
        ("SignatureDoesNotMatch", 403)
    );
    let stranger = Credentials { access_key_id: "AKIASTRANGER".into(), ..keys.clone() };
    assert_eq!(
        code(store.verify_presigned("GET", &signed_url(&store, &stranger, 60, now, "us-east-1"), &[])),
        ("InvalidAccessKeyId", 403)
    );
    // Made by another store with its own key.
    let (other, _) = clocked();
    let other_keys = other.create_access_key(&other.owner()).unwrap();
    let other_url = other
        .client_with_credentials(&other_keys)
        .unwrap()
        .generate_presigned_url(GetObject, "photos", "k", Duration::from_secs(60))
        .unwrap();
    assert_eq!(code(store.verify_presigned("GET", &other_url, &[])), ("InvalidAccessKeyId", 403));
    // The signing key deactivated, then deleted: URLs made before stop at once.
    store.update_access_key(&keys.access_key_id, AccessKeyStatus::Inactive).unwrap();
    assert_eq!(code(store.verify_presigned("GET", &url, &[])), ("InvalidAccessKeyId", 403));
    store.update_access_key(&keys.access_key_id, AccessKeyStatus::Active).unwrap();
    store.verify_presigned("GET", &url, &[]).unwrap();
    store.delete_access_key(&keys.access_key_id).unwrap();
    assert_eq!(code(store.verify_presigned("GET", &url, &[])), ("InvalidAccessKeyId", 403));
}

#[test]
fn the_owner_signs_with_its_first_active_key_and_anonymous_cannot_sign() {
    let (store, _) = clocked();
    let owner = store.client();
    let presign = |c: &Client| c.generate_presigned_url(GetObject, "b", "k", Duration::from_secs(60));
    let err = presign(&owner).unwrap_err();
    assert_eq!(err.code(), "MissingParameter");
    assert!(err.message().contains("credentials"), "{err}");
    assert_eq!(presign(&store.anonymous_client()).unwrap_err().code(), "MissingParameter");
    let first = store.create_access_key(&store.owner()).unwrap();
    let second = store.create_access_key(&store.owner()).unwrap();
    let url = presign(&owner).unwrap();
    assert!(url.contains(&format!("X-Amz-Credential={}%2F", first.access_key_id)), "{url}");
    store.update_access_key(&first.access_key_id, AccessKeyStatus::Inactive).unwrap();
    let url = presign(&owner).unwrap();
    assert!(url.contains(&format!("X-Amz-Credential={}%2F", second.access_key_id)), "{url}");
    assert_eq!(store.verify_presigned("GET", &url, &[]).unwrap(), store.owner());
}

#[test]
fn endpoint_version_overrides_and_sse_c() {
    let (store, _, _, client) = with_alice();
    let client = client.with_endpoint_url("https://s3.example.test/prefix/");
    assert_eq!(client.endpoint_url(), "https://s3.example.test/prefix");
    let got = client
        .presign(GetObject)
        .bucket("photos")
        .key("k")
        .version_id("v1+/=")
        .response_content_disposition("attachment; filename=\"a b.txt\"")
        .sse_customer_key(&[9; 32])
        .build()
        .unwrap();
    assert_eq!(got.method, "GET");
    assert!(got.url.starts_with("https://s3.example.test/prefix/photos/k?"), "{}", got.url);
    assert!(got.url.contains("versionId=v1%2B%2F%3D"), "{}", got.url);
    assert!(
        got.url.contains("X-Amz-SignedHeaders=host%3Bx-amz-server-side-encryption-customer-algorithm"),
        "{}",
        got.url
    );
    let names: Vec<&str> = got.headers.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "x-amz-server-side-encryption-customer-algorithm",
            "x-amz-server-side-encryption-customer-key",
            "x-amz-server-side-encryption-customer-key-md5"
        ]
    );
    let headers: Vec<(&str, &str)> = got.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    store.verify_presigned("GET", &got.url, &headers).unwrap();
    // The signed headers must come with the URL, unchanged.
    assert_eq!(code(store.verify_presigned("GET", &got.url, &[])), ("SignatureDoesNotMatch", 403));
    let other_key = s3lite::s3::types::SseCustomerKey::of_bytes(&[8; 32]);
    let mut wrong = headers.clone();
    wrong[1].1 = other_key.as_str();
    assert_eq!(code(store.verify_presigned("GET", &got.url, &wrong)), ("SignatureDoesNotMatch", 403));
    // A PUT's content type is signed; response-* overrides are for reads only.
    let put = client.presign(PutObject).bucket("photos").key("k").content_type("image/png").build().unwrap();
    assert_eq!(put.headers, [("content-type".to_owned(), "image/png".to_owned())]);
    store.verify_presigned("PUT", &put.url, &[("Content-Type", "image/png")]).unwrap();
    assert_eq!(
        code(store.verify_presigned("PUT", &put.url, &[("Content-Type", "text/html")])).0,
        "SignatureDoesNotMatch"
    );
    let err =
        client.presign(PutObject).bucket("photos").key("k").response_content_type("x").build().unwrap_err();
    assert_eq!(err.code(), "InvalidArgument");
    assert_eq!(client.presign(GetObject).key("k").build().unwrap_err().code(), "MissingParameter");
    let bad = client.clone().with_endpoint_url("127.0.0.1:9000");
    assert_eq!(
        code(bad.generate_presigned_url(GetObject, "photos", "k", Duration::from_secs(1))).0,
        "InvalidArgument"
    );
    // A default port is not part of the signed host, as SDKs send none.
    let port80 = client.with_endpoint_url("http://localhost:80");
    let url = port80.generate_presigned_url(GetObject, "photos", "k", Duration::from_secs(60)).unwrap();
    store.verify_presigned("GET", url.replace("localhost:80", "localhost").as_str(), &[]).unwrap();
}

#[test]
fn the_resource_layer_presigns_its_objects() {
    let (store, _, _, client) = with_alice();
    client.put_bucket_versioning().bucket("photos").status(BucketVersioningStatus::Enabled).send().unwrap();
    let v1 = client
        .put_object()
        .bucket("photos")
        .key("doc")
        .body(b"v1")
        .send()
        .unwrap()
        .version_id
        .clone()
        .unwrap();
    let object = client.resource().bucket("photos").object("doc");
    let url = object.generate_presigned_url(PresignedOperation::GetObject, Duration::from_secs(60)).unwrap();
    assert!(url.starts_with("http://127.0.0.1:9000/photos/doc?") && !url.contains("versionId"), "{url}");
    store.verify_presigned("GET", &url, &[]).unwrap();
    let versions = client.resource().bucket("photos").object_versions().all().into_iter();
    let version = versions.map(Result::unwrap).find(|v| v.version_id == v1).unwrap().object();
    let url = version.generate_presigned_url(PresignedOperation::GetObject, Duration::from_secs(60)).unwrap();
    assert!(url.contains(&format!("versionId={}", sigv4::uri_encode(&v1, true))), "{url}");
    store.verify_presigned("GET", &url, &[]).unwrap();
}

/// A harness serving presigned URLs without HTTP: verify, then run the operation as the account.
#[test]
fn a_harness_can_serve_presigned_urls_in_process() {
    let (store, _, _, client) = with_alice();
    let url =
        client.generate_presigned_url(GetObject, "photos", "my cat+1.jpg", Duration::from_secs(60)).unwrap();
    let account = store.verify_presigned("GET", &url, &[]).unwrap();
    let as_caller = store.s3_as(&account);
    let request = s3lite::s3::types::GetObjectRequest {
        bucket: "photos".into(),
        key: "my cat+1.jpg".into(),
        ..Default::default()
    };
    let mut got = as_caller.get_object(request).unwrap();
    assert_eq!(got.body.read_to_vec().unwrap(), b"meow");
    let sent = store.verify_presigned("GET", &url, &[]).map(|a| a.display_name);
    assert_eq!(sent.unwrap(), "alice");
}

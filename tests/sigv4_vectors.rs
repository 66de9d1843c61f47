//! s3lite's SigV4 signer against known answers computed once with botocore
//! (`tests/data/sigv4/make_vectors.py`, output `vectors.json`): the presigned-URL (query) form and
//! the header form, for keys with spaces, unicode, `+`, `~`, reserved characters, `//`, `.` and
//! `..`, query parameters that need encoding, and signed SSE-C headers. No Python at test time.

use s3lite::sigv4::{self, Request, Signer};
use serde_json::Value;

fn vectors() -> Value {
    let text = include_str!("data/sigv4/vectors.json");
    serde_json::from_str(text).expect("vectors.json parses")
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_owned(), p[1].as_str().unwrap().to_owned()))
        .collect()
}

fn signer<'a>(all: &'a Value, v: &'a Value) -> Signer<'a> {
    Signer {
        access_key_id: all["access_key_id"].as_str().unwrap(),
        secret_access_key: all["secret_access_key"].as_str().unwrap(),
        region: v["region"].as_str().unwrap(),
        time_secs: sigv4::parse_amz_date(all["amz_date"].as_str().unwrap()).unwrap(),
    }
}

#[test]
fn the_presigned_form_matches_botocore() {
    let all = vectors();
    let list = all["vectors"].as_array().unwrap();
    assert_eq!(list.len(), 9);
    for v in list {
        let name = v["name"].as_str().unwrap();
        let path = v["path"].as_str().unwrap();
        let query = pairs(&v["query"]);
        let mut headers = vec![("host".to_owned(), v["host"].as_str().unwrap().to_owned())];
        headers.extend(pairs(&v["signed_headers"]));
        let request =
            Request { method: v["method"].as_str().unwrap(), path, query: &query, headers: &headers };
        let expires = v["expires"].as_u64().unwrap();
        let ours = signer(&all, v).presign_query(&request, expires);
        let signature = ours.rsplit("X-Amz-Signature=").next().unwrap();
        assert_eq!(signature, v["signature"].as_str().unwrap(), "{name}: the query signature");

        // botocore's URL verifies, and the same URL with one byte of the path changed does not.
        let url = v["url"].as_str().unwrap();
        let (_, path_and_query) = url.split_once("://").unwrap().1.split_once('/').unwrap();
        let (raw_path, raw_query) = path_and_query.split_once('?').unwrap();
        let raw_path = format!("/{raw_path}");
        assert_eq!(raw_path, path, "{name}");
        let sent = sigv4::parse_query(raw_query);
        let params = sigv4::parse_presigned(&sent).unwrap();
        assert_eq!(params.expires_secs, expires);
        let secret = all["secret_access_key"].as_str().unwrap();
        let method = v["method"].as_str().unwrap();
        assert!(
            sigv4::presigned_signature_matches(&params, secret, method, &raw_path, &sent, &headers),
            "{name}"
        );
        let tampered = format!("{raw_path}x");
        assert!(
            !sigv4::presigned_signature_matches(&params, secret, method, &tampered, &sent, &headers),
            "{name}"
        );
        assert!(
            !sigv4::presigned_signature_matches(&params, secret, "POST", &raw_path, &sent, &headers),
            "{name}"
        );
        // Ours parses back to the same parameters and verifies too.
        let ours_pairs = sigv4::parse_query(&ours);
        let ours_params = sigv4::parse_presigned(&ours_pairs).unwrap();
        assert_eq!(ours_params, params, "{name}");
        assert!(
            sigv4::presigned_signature_matches(&ours_params, secret, method, path, &ours_pairs, &headers),
            "{name}"
        );
    }
}

#[test]
fn the_header_form_matches_botocore() {
    let all = vectors();
    for v in all["vectors"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let query = pairs(&v["query"]);
        let mut headers = vec![("host".to_owned(), v["host"].as_str().unwrap().to_owned())];
        for (k, value) in v["headers"].as_object().unwrap() {
            headers.push((k.clone(), value.as_str().unwrap().to_owned()));
        }
        let payload = v["headers"]["x-amz-content-sha256"].as_str().unwrap();
        let signer = signer(&all, v);
        assert_eq!(v["headers"]["x-amz-date"].as_str().unwrap(), signer.amz_date(), "{name}");
        let request = Request {
            method: v["method"].as_str().unwrap(),
            path: v["path"].as_str().unwrap(),
            query: &query,
            headers: &headers,
        };
        assert_eq!(signer.authorization(&request, payload), v["authorization"].as_str().unwrap(), "{name}");
    }
}

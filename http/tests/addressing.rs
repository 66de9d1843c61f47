//! Path-style and virtual-host-style addressing on one host (`s3lite serve --domain`): the bucket
//! named by the `Host` header (`bucket.<domain>`) or by the path's first segment reaches the same
//! bucket. Virtual-host requests are signed by aws-sdk-s3 (presigned URLs for `bucket.<domain>`)
//! and sent as bytes to the loopback port, since `*.s3.localhost` need not resolve here.

mod common;

use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use common::{Env, raw_bytes};

const DOMAIN: &str = "s3.localhost";

/// A client that addresses buckets as `bucket.s3.localhost:<port>` (it only signs here).
fn virtual_host_client(env: &Env) -> aws_sdk_s3::Client {
    let port = env.addr.unwrap().port();
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .credentials_provider(Credentials::new(
            &env.keys.access_key_id,
            &env.keys.secret_access_key,
            None,
            None,
            "test",
        ))
        .region(Region::new("us-east-1"))
        .endpoint_url(format!("http://{DOMAIN}:{port}"))
        .force_path_style(false)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Sends a presigned request to the loopback port with the Host its URL names.
async fn send(env: &Env, method: &str, url: &str, body: &[u8]) -> common::Raw {
    let uri: http::Uri = url.parse().unwrap();
    let host = uri.authority().unwrap().as_str().to_owned();
    assert!(host.starts_with("vhb."), "the SDK addressed the bucket by host: {host}");
    let mut req = format!(
        "{method} {} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        uri.path_and_query().unwrap(),
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    raw_bytes(env.addr.unwrap(), &req).await.expect("a response")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_host_and_path_style_reach_the_same_bucket() {
    let env = Env::with_domain(DOMAIN).await;
    let path_style = &env.client;
    let vh = virtual_host_client(&env);
    let presign = || PresigningConfig::expires_in(Duration::from_secs(300)).unwrap();
    path_style.create_bucket().bucket("vhb").send().await.unwrap();
    path_style
        .put_object()
        .bucket("vhb")
        .key("by/path.txt")
        .body(ByteStream::from_static(b"written path-style"))
        .send()
        .await
        .unwrap();

    // Read by virtual host what was written by path.
    let get = vh.get_object().bucket("vhb").key("by/path.txt").presigned(presign()).await.unwrap();
    let got = send(&env, "GET", get.uri(), b"").await;
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(got.body, b"written path-style");

    // Write by virtual host, read by path.
    let put = vh.put_object().bucket("vhb").key("by/host.txt").presigned(presign()).await.unwrap();
    let put = send(&env, "PUT", put.uri(), b"written by host").await;
    assert_eq!(put.status, 200, "{}", put.text());
    let got = path_style.get_object().bucket("vhb").key("by/host.txt").send().await.unwrap();
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"written by host");

    // A bucket that does not exist, named by host, is NoSuchBucket.
    let missing = vh.get_object().bucket("vhb-missing").key("k").presigned(presign()).await.unwrap();
    let uri: http::Uri = missing.uri().parse().unwrap();
    let req = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        uri.path_and_query().unwrap(),
        uri.authority().unwrap()
    );
    let resp = raw_bytes(env.addr.unwrap(), req.as_bytes()).await.unwrap();
    assert_eq!(resp.status, 404, "{}", resp.text());
    assert!(resp.text().contains("NoSuchBucket"), "{}", resp.text());
}

//! Paginators for the listing operations, in the synchronous form of aws-sdk-s3's
//! `into_paginator()`: `send()` gives an iterator of pages that follows the continuation tokens (or
//! markers), `items()` an iterator of the entries on those pages.
//!
//! ```
//! # fn main() -> s3lite::Result<()> {
//! let store = s3lite::Store::open_in_memory()?;
//! let client = store.client();
//! client.create_bucket().bucket("photos").send()?;
//! for i in 0..5 {
//!     client.put_object().bucket("photos").key(format!("2024/{i}.jpg")).body(b"x").send()?;
//! }
//! let pages = client.list_objects_v2().bucket("photos").into_paginator().page_size(2).send();
//! assert_eq!(pages.collect::<s3lite::Result<Vec<_>>>()?.len(), 3);
//! let mut keys = Vec::new();
//! for object in client.list_objects_v2().bucket("photos").into_paginator().items() {
//!     keys.push(object?.key);
//! }
//! assert_eq!(keys.len(), 5);
//! # Ok(())
//! # }
//! ```
//!
//! A page that fails ends the iteration after yielding its error. As aws-sdk-s3's paginators do by
//! default, iteration also stops when a page hands back the token it was asked with (a loop on one
//! page could otherwise never end).

use std::collections::VecDeque;

use crate::api::client::{
    ListBucketsBuilder, ListObjectVersionsBuilder, ListObjectsBuilder, ListObjectsV2Builder,
};
use crate::api::{Client, Response};
use crate::error::Result;
use crate::s3::rules::percent_decode;
use crate::s3::types::*;

/// A listing operation a paginator can walk: how to send one page, find the request of the next,
/// and take the items off a page. Implemented by the listing builders.
pub trait Paginated {
    /// The operation's input.
    type Request: Clone + std::fmt::Debug + Resume;
    /// One page.
    type Output: std::fmt::Debug;
    /// One entry of a page.
    type Item: std::fmt::Debug;

    /// Sends one page's request.
    ///
    /// # Errors
    /// The operation's errors.
    fn send_page(client: &Client, request: Self::Request) -> Result<Response<Self::Output>>;

    /// The request of the page after `output`, or `None` when `output` was the last one.
    fn next_request(request: &Self::Request, output: &Self::Output) -> Option<Self::Request>;

    /// Sets the page size (`max-keys`, `max-buckets`).
    fn set_page_size(request: &mut Self::Request, n: i32);

    /// The entries of a page, in order.
    fn into_items(output: Self::Output) -> Vec<Self::Item>;
}

/// A paginator: set the page size, then iterate pages ([`Paginator::send`]) or items
/// ([`Paginator::items`]).
#[derive(Debug)]
#[must_use]
pub struct Paginator<P: Paginated> {
    client: Client,
    request: P::Request,
}

impl<P: Paginated> Paginator<P> {
    pub(crate) fn new(client: Client, request: P::Request) -> Self {
        Paginator { client, request }
    }

    /// Entries per page (`max-keys`; `max-buckets` for ListBuckets).
    pub fn page_size(mut self, n: i32) -> Self {
        P::set_page_size(&mut self.request, n);
        self
    }

    /// The pages, each a response of its own. Nothing is sent until the first `next()`.
    pub fn send(self) -> Pages<P> {
        Pages { client: self.client, next: Some(self.request) }
    }

    /// The entries of every page, in order, fetched a page at a time.
    pub fn items(self) -> Items<P> {
        Items { pages: self.send(), buffered: VecDeque::new() }
    }
}

/// The pages of a listing (see [`Paginator::send`]).
#[derive(Debug)]
#[must_use]
pub struct Pages<P: Paginated> {
    client: Client,
    next: Option<P::Request>,
}

impl<P: Paginated> Iterator for Pages<P> {
    type Item = Result<Response<P::Output>>;

    fn next(&mut self) -> Option<Self::Item> {
        let request = self.next.take()?;
        let sent_token = request.resume_token();
        match P::send_page(&self.client, request.clone()) {
            Ok(page) => {
                // A next request resumes from somewhere, and not from where this one did.
                self.next = P::next_request(&request, page.output())
                    .filter(|next| next.resume_token().is_some_and(|t| Some(&t) != sent_token.as_ref()));
                Some(Ok(page))
            }
            Err(e) => Some(Err(e)),
        }
    }
}

/// The entries of a listing's pages (see [`Paginator::items`]).
#[derive(Debug)]
#[must_use]
pub struct Items<P: Paginated> {
    pages: Pages<P>,
    buffered: VecDeque<P::Item>,
}

impl<P: Paginated> Iterator for Items<P> {
    type Item = Result<P::Item>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.buffered.pop_front() {
                return Some(Ok(item));
            }
            match self.pages.next()? {
                Ok(page) => self.buffered.extend(P::into_items(page.into_output())),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Where a listing request resumes, as one string (to notice a token handed back unchanged).
pub trait Resume {
    /// The token or markers the request resumes from.
    fn resume_token(&self) -> Option<String>;
}

impl Resume for ListObjectsV2Request {
    fn resume_token(&self) -> Option<String> {
        self.continuation_token.clone()
    }
}

impl Resume for ListObjectsRequest {
    fn resume_token(&self) -> Option<String> {
        self.marker.clone()
    }
}

impl Resume for ListObjectVersionsRequest {
    fn resume_token(&self) -> Option<String> {
        let key = self.key_marker.as_ref()?;
        Some(format!("{key}\0{}", self.version_id_marker.as_deref().unwrap_or("")))
    }
}

impl Resume for ListBucketsRequest {
    fn resume_token(&self) -> Option<String> {
        self.continuation_token.clone()
    }
}

/// A marker as the next request must carry it: outputs of `encoding-type=url` listings hold keys
/// URL-encoded, and a request's marker is the key itself.
fn marker(value: &str, encoding: Option<EncodingType>) -> String {
    match encoding {
        Some(EncodingType::Url) => percent_decode(value).unwrap_or_else(|| value.to_owned()),
        None => value.to_owned(),
    }
}

impl Paginated for ListObjectsV2Builder {
    type Request = ListObjectsV2Request;
    type Output = ListObjectsV2Output;
    type Item = ListedObject;

    fn send_page(client: &Client, request: Self::Request) -> Result<Response<Self::Output>> {
        ListObjectsV2Builder::from_request(client, request).send()
    }

    fn next_request(request: &Self::Request, output: &Self::Output) -> Option<Self::Request> {
        let token = output.next_continuation_token.clone().filter(|_| output.is_truncated)?;
        // S3 ignores start-after once a token is given; dropping it keeps the request honest.
        Some(ListObjectsV2Request { continuation_token: Some(token), start_after: None, ..request.clone() })
    }

    fn set_page_size(request: &mut Self::Request, n: i32) {
        request.max_keys = Some(n);
    }

    fn into_items(output: Self::Output) -> Vec<ListedObject> {
        output.contents
    }
}

impl Paginated for ListObjectsBuilder {
    type Request = ListObjectsRequest;
    type Output = ListObjectsOutput;
    type Item = ListedObject;

    fn send_page(client: &Client, request: Self::Request) -> Result<Response<Self::Output>> {
        ListObjectsBuilder::from_request(client, request).send()
    }

    /// S3 sends NextMarker only with a delimiter; otherwise the next page starts after the last key
    /// (ListObjects, "NextMarker": "use the value of the last Key in the response as the marker").
    fn next_request(request: &Self::Request, output: &Self::Output) -> Option<Self::Request> {
        if !output.is_truncated {
            return None;
        }
        let next = output.next_marker.as_ref().or_else(|| output.contents.last().map(|o| &o.key))?;
        Some(ListObjectsRequest { marker: Some(marker(next, output.encoding_type)), ..request.clone() })
    }

    fn set_page_size(request: &mut Self::Request, n: i32) {
        request.max_keys = Some(n);
    }

    fn into_items(output: Self::Output) -> Vec<ListedObject> {
        output.contents
    }
}

impl Paginated for ListObjectVersionsBuilder {
    type Request = ListObjectVersionsRequest;
    type Output = ListObjectVersionsOutput;
    /// Versions and delete markers, in S3's order (see [`ListObjectVersionsOutput::entries`]).
    type Item = ListedVersion;

    fn send_page(client: &Client, request: Self::Request) -> Result<Response<Self::Output>> {
        ListObjectVersionsBuilder::from_request(client, request).send()
    }

    fn next_request(request: &Self::Request, output: &Self::Output) -> Option<Self::Request> {
        let key = output.next_key_marker.as_ref().filter(|_| output.is_truncated)?;
        Some(ListObjectVersionsRequest {
            key_marker: Some(marker(key, output.encoding_type)),
            version_id_marker: output.next_version_id_marker.clone(),
            ..request.clone()
        })
    }

    fn set_page_size(request: &mut Self::Request, n: i32) {
        request.max_keys = Some(n);
    }

    fn into_items(output: Self::Output) -> Vec<ListedVersion> {
        output.entries
    }
}

impl Paginated for ListBucketsBuilder {
    type Request = ListBucketsRequest;
    type Output = ListBucketsOutput;
    type Item = ListedBucket;

    fn send_page(client: &Client, request: Self::Request) -> Result<Response<Self::Output>> {
        ListBucketsBuilder::from_request(client, request).send()
    }

    fn next_request(request: &Self::Request, output: &Self::Output) -> Option<Self::Request> {
        let token = output.continuation_token.clone()?;
        Some(ListBucketsRequest { continuation_token: Some(token), ..request.clone() })
    }

    /// A size below 1 is sent as is, for S3 to refuse (`InvalidArgument`).
    fn set_page_size(request: &mut Self::Request, n: i32) {
        request.max_buckets = Some(usize::try_from(n).unwrap_or(0));
    }

    fn into_items(output: Self::Output) -> Vec<ListedBucket> {
        output.buckets
    }
}

macro_rules! into_paginator {
    ($($builder:ident),*) => {$(
        impl $builder {
            /// A paginator over this listing: [`Paginator::send`] iterates its pages, following
            /// the continuation tokens (or markers), [`Paginator::items`] its entries.
            pub fn into_paginator(self) -> Paginator<$builder> {
                let (client, request) = self.into_parts();
                Paginator::new(client, request)
            }
        }
    )*};
}

into_paginator!(ListObjectsV2Builder, ListObjectsBuilder, ListObjectVersionsBuilder, ListBucketsBuilder);

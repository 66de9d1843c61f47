//! The storage engine: everything below the S3 rules. An open [`Store`] owns a directory (or an
//! in-memory [`io::SimStorage`]) and stores buckets, objects and versions in log-structured
//! segments; it knows bucket ids, keys, versions and bodies, not S3's names, errors or headers
//! (those are [`crate::s3`]'s).
//!
//! The data path, top to bottom:
//!
//! - **store** ([`store`], with the catalog, listing, bodies, writeback and the large-put pipeline
//!   beside it): the engine-level API on (bucket id, key); opening a store is [`recovery`].
//! - **partition** ([`partition`]): the router, the ordered index per partition, and the single
//!   group-commit writer per partition that appends records and syncs them.
//! - **segment** ([`segment`]): segment files, read by `pread` while active and through a memory
//!   map once sealed, and the pure recovery scanner.
//! - **format** ([`format`]): the pure on-disk encoders and decoders (segment header, record, meta
//!   TLV, manifest frames), no I/O.
//!
//! Below them all, [`io`]: every file operation goes through its `Storage` trait, on `std::fs` or
//! on the simulated file system that crashes and injects faults. Lower layers never import higher
//! ones.
//!
//! [`Store`]: store::Store

pub(crate) mod body;
mod buffer_pool;
pub(crate) mod catalog;
mod context;
mod etag_hasher;
pub mod format;
pub mod io;
pub(crate) mod listing;
pub(crate) mod partition;
pub(crate) mod recovery;
pub mod segment;
pub(crate) mod store;
mod writeback;

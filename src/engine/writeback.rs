//! Background writeback of large bodies: one thread per store that fdatasyncs the segments a large
//! put has written chunks to, while the put goes on copying and hashing the next chunks.
//!
//! A chunk is not acknowledged by this sync; the object-commit record's own group sync is what makes
//! the object durable. Starting the data on its way early keeps the disk busy while the writer is
//! busy, so that sync has little left to write. A failed sync poisons the store as any other does
//! (after a failed fdatasync the kernel may have dropped the dirty pages).
//!
//! Once synced, a chunk's pages can be dropped from the page cache (`StoreBuilder::cache_large_bodies`
//! off): growing the page cache by every byte written costs more than the write itself (measured
//! here: a 1 MiB `pwrite` takes 0.8–1.4 ms into a growing page cache, 0.2 ms into recycled pages).

use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

use crate::engine::partition::Partition;

/// A sync to make: (partition index, segment id), and the (offset, length) ranges to drop from the
/// page cache once it is done.
type Pending = (usize, u64, Vec<(u64, u64)>);

#[derive(Debug, Default)]
struct State {
    /// Syncs to make, in request order, one per segment.
    pending: Vec<Pending>,
    stop: bool,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

/// Threads per store: syncs of different segments (two streams in two partitions) proceed side
/// by side on the device instead of queueing behind each other.
const WRITEBACK_THREADS: usize = 2;

/// The writeback threads of one store.
#[derive(Debug)]
pub(crate) struct Writeback {
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<()>>,
}

impl Writeback {
    /// Starts the threads.
    pub(crate) fn start(partitions: Arc<Vec<Arc<Partition>>>) -> std::io::Result<Writeback> {
        let shared = Arc::new(Shared::default());
        let mut writeback = Writeback { shared: shared.clone(), handles: Vec::new() };
        for _ in 0..WRITEBACK_THREADS {
            let (s, partitions) = (shared.clone(), partitions.clone());
            let spawned = std::thread::Builder::new()
                .name("s3lite-writeback".into())
                .spawn(move || run(&s, &partitions));
            match spawned {
                Ok(h) => writeback.handles.push(h),
                Err(e) => {
                    writeback.stop();
                    return Err(e);
                }
            }
        }
        Ok(writeback)
    }

    /// Asks for a sync of one segment of one partition; `drop_range` (offset, length), if any, is
    /// dropped from the page cache after it. A sync already waiting covers the request: it starts
    /// after every write made so far.
    pub(crate) fn request(&self, partition: usize, segment_id: u64, drop_range: Option<(u64, u64)>) {
        let mut st = self.shared.state.lock();
        match st.pending.iter_mut().find(|(p, s, _)| (*p, *s) == (partition, segment_id)) {
            Some((_, _, ranges)) => ranges.extend(drop_range),
            None => {
                st.pending.push((partition, segment_id, drop_range.into_iter().collect()));
                self.shared.wake.notify_one();
            }
        }
    }

    /// Finishes pending syncs and stops the threads.
    pub(crate) fn stop(&mut self) {
        self.shared.state.lock().stop = true;
        self.shared.wake.notify_all();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

/// One thread: takes the oldest request, syncs, repeats; returns once stopped with nothing left.
fn run(shared: &Shared, partitions: &[Arc<Partition>]) {
    loop {
        let (p, segment_id, ranges) = {
            let mut st = shared.state.lock();
            while st.pending.is_empty() && !st.stop {
                shared.wake.wait(&mut st);
            }
            if st.pending.is_empty() {
                return;
            }
            st.pending.remove(0)
        };
        // An error poisons the store; writers see it as PreviousIo.
        let _ = partitions[p].write_back(segment_id, &ranges);
    }
}

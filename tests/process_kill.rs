//! A child process writes with `Immediate` durability and reports each acknowledgement on stdout;
//! the parent kills it with SIGKILL at a random moment, reopens the store, and checks every
//! acknowledged write. The child is this test binary run again with `S3LITE_KILL_DIR` set.
//! A few kills by default; `cargo test --release --test process_kill -- --ignored` runs hundreds.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{body, read};
use rand::{Rng, SeedableRng};
use s3lite::{PutOptions, Store};

const CHILD_ENV: &str = "S3LITE_KILL_DIR";

fn size_of(i: u64) -> usize {
    [10usize, 3000, 40_000, 300_000][(i % 4) as usize]
}

/// The child's entry point: does nothing unless started by the parent below.
#[test]
#[ignore = "entry point of the child process of the kill tests"]
fn kill_child_entry() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let round: u64 = std::env::var("S3LITE_KILL_ROUND").unwrap().parse().unwrap();
    let store = Store::builder(&dir)
        .partitions(4)
        .segment_bytes(1 << 20)
        .inline_bytes(4096)
        .chunk_bytes(65536)
        .open()
        .unwrap();
    let b = match store.bucket("b") {
        Ok(info) => info.id,
        Err(_) => store.create_bucket("b").unwrap(),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY").unwrap();
    out.flush().unwrap();
    for i in 0.. {
        let key = format!("r{round}-k{i}");
        store.put_bytes(b, &key, &body(round * 1_000_000 + i, size_of(i)), &PutOptions::default()).unwrap();
        writeln!(out, "ACK {round} {i}").unwrap();
        out.flush().unwrap();
    }
}

fn kill_rounds(rounds: u64, seed: u64) -> (u64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut acked: Vec<(u64, u64)> = Vec::new();
    for round in 0..rounds {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "kill_child_entry", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .env("S3LITE_KILL_ROUND", round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut acks = Vec::new();
            let mut ready = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // libtest prints its own "test ... " prefix on the first line.
                ready |= line.ends_with("READY");
                if let Some(rest) = line.find("ACK ").map(|at| &line[at + 4..]) {
                    let mut it = rest.split(' ').map(|x| x.parse::<u64>().unwrap());
                    acks.push((it.next().unwrap(), it.next().unwrap()));
                }
            }
            (ready, acks)
        });
        std::thread::sleep(Duration::from_millis(rng.random_range(150..600)));
        child.kill().unwrap();
        child.wait().unwrap();
        let (ready, acks) = reader.join().unwrap();
        assert!(ready, "round {round}: the child never opened the store");
        acked.extend(acks);
        let store =
            Store::builder(&path).open().unwrap_or_else(|e| panic!("seed {seed} round {round}: reopen: {e}"));
        let b = store.bucket("b").unwrap().id;
        for &(r, i) in &acked {
            let got = read(&store, b, &format!("r{r}-k{i}"))
                .unwrap_or_else(|e| panic!("seed {seed}: r{r}-k{i} acknowledged but {e}"));
            assert_eq!(got, body(r * 1_000_000 + i, size_of(i)), "seed {seed}: r{r}-k{i} differs");
        }
    }
    (rounds, acked.len() as u64)
}

#[test]
fn killed_writers_lose_no_acknowledged_write() {
    let (kills, acks) = kill_rounds(4, 1);
    println!("process kills: {kills}, acknowledged writes checked: {acks}");
    assert!(acks > 0, "the children acknowledged nothing");
}

#[test]
#[ignore = "long run: cargo test --release --test process_kill -- --ignored killed_writers_many"]
fn killed_writers_many() {
    let (kills, acks) = kill_rounds(200, 7);
    println!("process kills: {kills}, acknowledged writes checked: {acks}");
}

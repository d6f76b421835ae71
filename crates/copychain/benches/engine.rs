//! Criterion benches of the engine, one per strategy: a 64 MiB file copied fd to fd by
//! copy_file_range (the default chain on a filesystem without reflinks), splice
//! (`--reflink=never`) and read/write (`--sparse=always`), in the directory given by
//! RCP_BENCH_DIR (default: the system temp dir). The record says which strategy really ran;
//! the bench name says which was asked for.

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use copychain::{self as engine, Dest, Policy, Reflink, Scratch, Source, Sparse};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SIZE: usize = 64 << 20;

fn bench_dir() -> PathBuf {
    std::env::var_os("RCP_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from)
}

fn strategies(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(bench_dir()).expect("bench dir");
    let src_path = dir.path().join("src");
    let data: Vec<u8> = (0..SIZE).map(|i| (i * 7 % 251) as u8 + 1).collect();
    std::fs::write(&src_path, &data).expect("write source");
    let mut group = c.benchmark_group("engine-64MiB");
    group.throughput(Throughput::Bytes(SIZE as u64)).sample_size(10);
    let policies = [
        ("copy_file_range", Policy { reflink: Reflink::Auto, sparse: Sparse::Auto }),
        ("splice", Policy { reflink: Reflink::Never, sparse: Sparse::Auto }),
        ("read_write", Policy { reflink: Reflink::Never, sparse: Sparse::Always }),
    ];
    let mut worker = Scratch::default();
    for (name, policy) in policies {
        group.bench_function(name, |b| {
            b.iter(|| {
                let src = File::open(&src_path).unwrap();
                let meta = src.metadata().unwrap();
                let dst_path = dir.path().join("dst");
                let _ = std::fs::remove_file(&dst_path);
                let dst = File::create(&dst_path).unwrap();
                let source = Source {
                    fd: src.as_fd(),
                    dev: meta.dev(),
                    size: meta.len(),
                    blocks: meta.blocks(),
                    regular: true,
                };
                let dest = Dest { fd: dst.as_fd(), dev: meta.dev(), regular: true };
                let record = engine::copy(&source, &dest, policy, &mut worker).expect("copy");
                assert_eq!(record.bytes, SIZE as u64);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, strategies);
criterion_main!(benches);

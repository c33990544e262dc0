//! `Gazetteer::locate` on Jincheng: what a dispatcher types (crossings in
//! their usual forms, roads, places, typos, pinyin, coordinates), the
//! indexed lookup beside the scan of every name.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kuaifan_benches::jincheng;
use kuaifan_engine::Gazetteer;

/// A mix of queries as they come: mostly crossings and places, some typos.
const QUERIES: [&str; 12] = [
    "书院街与学院路",
    "泽州路/建设路交叉口",
    "黄华街和新市街路口",
    "书苑街与学院路",
    "凤台街",
    "市人民医院",
    "晋城火车站",
    "秦家庄收费站",
    "兰花路",
    "shuyuanjie",
    "35.4950, 112.8450",
    "迎宾街 工人街",
];

fn locate(c: &mut Criterion) {
    let names = Gazetteer::build(jincheng().graph(), &[]);
    let mut group = c.benchmark_group("locate/jincheng");
    let mut i = 0;
    group.bench_function("locate", |b| {
        b.iter(|| {
            i = (i + 1) % QUERIES.len();
            black_box(names.locate(black_box(QUERIES[i]), 10))
        })
    });
    let mut i = 0;
    group.bench_function("locate_by_scan", |b| {
        b.iter(|| {
            i = (i + 1) % QUERIES.len();
            black_box(names.locate_by_scan(black_box(QUERIES[i]), 10))
        })
    });
    group.bench_function("build", |b| {
        b.iter(|| black_box(Gazetteer::build(jincheng().graph(), &[])))
    });
    group.finish();
}

criterion_group!(benches, locate);
criterion_main!(benches);

// out = take(x, indices, axis), with x viewed as (outer, dim, inner) and the output as
// (outer, n_idx, inner): the rank of x and of the indices never reaches the kernel.
// Elements are copied as raw 32-bit words, so one pipeline serves every dtype; WORD is
// vec4<u32> when rows hold a multiple of 4 elements (inner then counts vec4s).
// A negative index counts from the end (as NumPy's take); one still out of [0, dim)
// yields 0 (as TensorFlow's GPU gather) and is never read.

struct Params {
    numel: u32,
    row_pitch: u32,          // invocations per row of the 2-D dispatch grid
    inner: u32,
    n_idx: u32,
    dim: i32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<{{WORD}}>;
@group(0) @binding(2) var<storage, read> indices: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<{{WORD}}>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * p.row_pitch;
    if (i >= p.numel) { return; }
    // consecutive invocations walk `inner`, so both the reads and the writes coalesce
    let col = i % p.inner;
    let row = i / p.inner;
    let j = row % p.n_idx;
    let o = row / p.n_idx;
    var k = indices[j];
    if (k < 0) { k = k + p.dim; }
    var v = {{WORD}}();
    if (k >= 0 && k < p.dim) {
        v = x[(o * u32(p.dim) + u32(k)) * p.inner + col];
    }
    out[i] = v;
}

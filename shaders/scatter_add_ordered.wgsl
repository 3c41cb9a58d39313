// Deterministic scatter-add for few indices: one invocation per OUTPUT element walks
// every index j in order and sums the updates whose index hits it. No atomics, no
// zero fill, and the float sum is taken in the same order as NumPy's np.add.at, so the
// result is bit-identical to it; the cost is n_idx steps per output element, which is
// why scatter_add.wgsl takes over when there are many indices. All invocations of a
// workgroup read the same indices[j] at the same step: a broadcast load from cache.
// out and updates are viewed as (outer, dim, inner) and (outer, n_idx, inner).

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
@group(0) @binding(1) var<storage, read> updates: array<{{TYPE}}>;
@group(0) @binding(2) var<storage, read> indices: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<{{TYPE}}>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * p.row_pitch;
    if (i >= p.numel) { return; }
    let col = i % p.inner;
    let row = i / p.inner;
    let s = i32(row % u32(p.dim));
    let base = (row / u32(p.dim)) * p.n_idx * p.inner + col;
    var acc = {{TYPE}}(0);
    for (var j = 0u; j < p.n_idx; j = j + 1u) {
        var k = indices[j];
        if (k < 0) { k = k + p.dim; }
        if (k == s) { acc = acc + updates[base + j * p.inner]; }
    }
    out[i] = {{FINISH}};
}

// out[o, indices[j], c] += updates[o, j, c] for a zero-filled out, one invocation per
// update element; out and updates are viewed as (outer, dim, inner) and (outer, n_idx,
// inner). Repeated indices collide, so the add is atomic. WGSL has atomic integer adds
// but no float ones: floats use the compare-exchange loop on the word's bits (retry
// when another invocation changed the word between our read and our swap). The order
// of colliding float adds is therefore unspecified (the sum may differ in the last
// bits from run to run). A negative index counts from the end; one still out of range
// is dropped.

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
@group(0) @binding(3) var<storage, read_write> out: array<atomic<{{ATOMIC}}>>;

fn add_to(slot: u32, v: {{TYPE}}) {
{{ADD}}
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * p.row_pitch;
    if (i >= p.numel) { return; }
    let col = i % p.inner;
    let row = i / p.inner;
    let j = row % p.n_idx;
    let o = row / p.n_idx;
    var k = indices[j];
    if (k < 0) { k = k + p.dim; }
    if (k >= 0 && k < p.dim) {
        add_to((o * u32(p.dim) + u32(k)) * p.inner + col, updates[i]);
    }
}

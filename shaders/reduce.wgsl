// Reduction over any set of axes, read in place (no transpose copy). The input's dims are
// split into kept dims (which output) and reduced dims (which element of the reduction),
// each with its own strides; pykernel/backends/webgpu/reduction.py merges adjacent dims of
// the same kind first, so each side has at most 4.
//
// A workgroup of 256 threads serves 256/LANES work items with LANES threads each. A work
// item is one output, or one chunk of one output's reduced range when the reduction is
// long (CHUNKS > 1): a second dispatch then reduces the partials. Each thread folds every
// LANES-th element of its range serially (a few dozen at most), then the lanes of an item
// combine pairwise in workgroup memory: float sums stay accurate at any length.
//
// LANES is a WGSL constant where it is 1 (short reductions, one thread per output) or 256
// (long ones, where speed matters); between, it comes from the uniform, so that a batch of
// 64 or 128 finds the pipeline a batch of 48 compiled ({{LANES_FROM}}).
//
// LANE_STEP places the lanes of one item: 1 makes them adjacent threads (for a contiguous
// reduced axis), SLOTS makes the items adjacent (for a contiguous kept axis), so that
// neighbouring threads always read neighbouring addresses.
//
// The caller fills ACC (accumulator type), IDENTITY, and the functions combine(a, b),
// load(offset, r) (element at `offset`, the r-th of its reduction) and store(i, acc).

struct Params {
    items: u32,          // outputs * chunks
    outputs: u32,
    chunks: u32,
    chunk_len: u32,      // reduced elements per chunk
    red_size: u32,
    groups_x: u32,       // workgroups per row of the 2-D dispatch grid
    chunk_outer: u32,    // 1: item = chunk * outputs + output; 0: item = output * chunks + chunk
    inf_bits: u32,       // 0x7f800000: WGSL rejects infinite constants, so infinity comes from here
    kept_shape: vec4<u32>,
    kept_strides: vec4<u32>,
    red_shape: vec4<u32>,
    red_strides: vec4<u32>,
    kept_rank: u32,      // merged dims on each side (0..4): read by the rank 2-4 offset loop
    red_rank: u32,
    lanes: u32,          // read where LANES is not a constant
    lane_step: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> inp: array<{{IN_TYPE}}>;
@group(0) @binding(2) var<storage, read_write> out: array<{{OUT_TYPE}}>;

{{LANE_CONSTS}}

{{DECLS}}

var<workgroup> partial: array<{{ACC}}, 256>;

fn kept_offset(i: u32) -> u32 {
{{KEPT_OFFSET}}
}

fn red_offset(i: u32) -> u32 {
{{RED_OFFSET}}
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) local: u32) {
{{LANE_LETS}}
    let lane = (local / LANE_STEP) % LANES;
    let slot = select(local / LANES, local % SLOTS, LANE_STEP != 1u);
    let item = (wid.x + wid.y * p.groups_x) * SLOTS + slot;
    var acc: {{ACC}} = {{IDENTITY}};
    if (item < p.items) {
        var output = item / p.chunks;
        var chunk = item % p.chunks;
        if (p.chunk_outer == 1u) {
            output = item % p.outputs;
            chunk = item / p.outputs;
        }
        let base = kept_offset(output);
        let begin = chunk * p.chunk_len;
        let end = min(begin + p.chunk_len, p.red_size);
        for (var r = begin + lane; r < end; r = r + LANES) {
            acc = combine(acc, load(base + red_offset(r), r));
        }
    }
    partial[local] = acc;
    for (var s = LANES / 2u; s > 0u; s = s / 2u) {
        workgroupBarrier();
        if (lane < s) {
            partial[local] = combine(partial[local], partial[local + s * LANE_STEP]);
        }
    }
    if (lane == 0u && item < p.items) {
        store(item, partial[local]);
    }
}

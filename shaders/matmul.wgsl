// Tiled GEMM core: out[z][m][n] = sum_k A(m, k) * B(n, k), one BM x BN output tile per
// WX x WY (= 256) workgroup, TM x (4 * TN) outputs per thread (WX = 4 or 64 for thin
// outputs). Serves matmul (pykernel/backends/webgpu/matmul.py) and, through im2col
// addressing, every convolution (conv.py + conv2d.wgsl).
//
// Where operand elements live is index math, never a copy: A_INDEX / B_INDEX are element
// offsets into a_src / b_src (-1 reads as zero: convolution padding). Matmul reads strided
// matrices (a transpose swaps the strides) at per-batch bases (stride 0 broadcasts); a
// convolution substitutes im2col addressing from conv2d.wgsl (HELPERS, its own FIELDS).
//
// Tiles go through workgroup memory k-major, so the TM rows (and 4 * TN columns) a thread
// needs at one k are whole vec4s: two 16-byte reads feed 16 multiply-adds. Global reads
// are coalesced along whichever axis (k or m/n) the operand is contiguous in, as vec4 when
// that axis is a multiple of 4 long (FILL_A / FILL_B, chosen by matmul.py).
//
// z = batch * splits + split: with split-K (few output tiles, long K) each split sums its
// own K range into its own output slice, and the slices are added afterwards.

struct Params {
    m: i32, n: i32, k: i32, tiles_n: i32,      // tiles_n: output tiles across N
    tiles: i32, pitch: i32,                    // tiles per z; workgroups per grid row
    splits: i32, k_chunk: i32,                 // K range per split, a multiple of BK
    z_base: i32, batch_rank: i32,              // z_base: first z of this dispatch (65535 limit)
    _p0: i32, _p1: i32,
    a_rs: i32, a_ks: i32, b_rs: i32, b_ks: i32, // strides per row (m or n) and per k
    batch_shape: array<vec4<i32>, 2>,          // merged batch dims, outermost first
    a_batch: array<vec4<i32>, 2>,              // their strides in A and B (0: broadcast)
    b_batch: array<vec4<i32>, 2>,
{{FIELDS}}
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a_src: array<{{A_VT}}>;
@group(0) @binding(2) var<storage, read> b_src: array<{{B_VT}}>;
@group(0) @binding(3) var<storage, read_write> out: array<{{OUT_VT}}>;

const BM = {{BM}};
const BN = {{BN}};
const BK = {{BK}};

var<workgroup> a_sub: array<array<vec4<{{T}}>, {{BM}} / 4>, {{BK}}>;
var<workgroup> b_sub: array<array<vec4<{{T}}>, {{BN}} / 4>, {{BK}}>;

var<private> a_base: i32;
var<private> b_base: i32;

fn setup(batch: i32) {
    var rest = batch;
    for (var d = p.batch_rank - 1; d >= 0; d = d - 1) {
        let size = p.batch_shape[d / 4][d % 4];
        let i = rest % size;
        rest = rest / size;
        a_base = a_base + i * p.a_batch[d / 4][d % 4];
        b_base = b_base + i * p.b_batch[d / 4][d % 4];
    }
}

{{HELPERS}}

fn a_at(m: i32, k: i32) -> {{A_VT}} {
    let i = {{A_INDEX}};
    if (i < 0) { return {{A_VT}}(0); }
    return a_src[i / {{A_WIDTH}}];
}

fn b_at(n: i32, k: i32) -> {{B_VT}} {
    let i = {{B_INDEX}};
    if (i < 0) { return {{B_VT}}(0); }
    return b_src[i / {{B_WIDTH}}];
}

// Each fills one BK x BM (BK x BN) tile starting at row r0, depth k0; t is the thread's
// index in the workgroup. Rows >= rows and depths >= k_end read as zero.
fn fill_a(r0: i32, rows: i32, k0: i32, k_end: i32, t: i32) {
{{FILL_A}}
}

fn fill_b(r0: i32, rows: i32, k0: i32, k_end: i32, t: i32) {
{{FILL_B}}
}

fn store(z: i32, m: i32, n: i32, v: vec4<{{T}}>) {
{{STORE}}
}

@compute @workgroup_size({{WX}}, {{WY}})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let tile = i32(wg.x) + i32(wg.y) * p.pitch;
    if (tile >= p.tiles) { return; }   // the grid's last row overhangs; whole workgroups leave
    let z = i32(wg.z) + p.z_base;
    setup(z / p.splits);
    let m0 = (tile / p.tiles_n) * BM;
    let n0 = (tile % p.tiles_n) * BN;
    let k_begin = (z % p.splits) * p.k_chunk;
    let k_end = min(p.k, k_begin + p.k_chunk);
    let tx = i32(lid.x);
    let ty = i32(lid.y);
    let t = ty * {{WX}} + tx;
{{ACC_DECL}}
    for (var k0 = k_begin; k0 < k_end; k0 = k0 + BK) {
        fill_a(m0, p.m, k0, k_end, t);
        fill_b(n0, p.n, k0, k_end, t);
        workgroupBarrier();
        for (var k = 0; k < BK; k = k + 1) {
{{MICRO}}
        }
        workgroupBarrier();
    }
{{STORE_ALL}}
}

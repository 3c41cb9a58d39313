// Tiled GEMM core: out[z][m][n] = sum_k A(m, k) * B(n, k), one BM x BN output tile per
// workgroup of WG threads, 4 x 4 outputs per thread (WX threads across N). Serves matmul
// (pykernel/backends/webgpu/matmul.py) and, through im2col addressing, every convolution
// (conv.py + conv2d.wgsl).
//
// Few pipelines on purpose: each is a shader compile, and software adapters (SwiftShader in
// the page, lavapipe) take long over a GEMM. Baked: the element type, the output's finish,
// the operand address form (A_INDEX / B_INDEX in the fills: strided, or a convolution's
// im2col forms; a runtime choice among them would cost SIMD-under-mask adapters every form's
// arithmetic on every load) and the tiling (two, matmul.TILINGS). Runtime (Params): shapes,
// strides (a transpose swaps them, stride 0 broadcasts a batch), batch bases, the order tile
// loads walk each operand (kfast: along k, else along rows: whichever is contiguous, so
// neighbouring threads read neighbouring words), a convolution operand's run length (a_w /
// b_w: 4 adjacent words per im2col offset when channels allow), split-K, the conv geometry.
// Workgroup memory stays near 1K words: WGSL zero-fills it, and SwiftShader compiles that
// fill as one store per word (~0.35 ms each: 2K words made a GEMM a 1-2.5 s compile).
//
// Tiles go through workgroup memory k-major (A's at 0, B's at B_AT), so the 4 rows (4
// columns) a thread needs at one k are one vec4: two reads feed 16 multiply-adds. Offsets
// < 0 read as zero (convolution padding).
//
// z = batch * splits + split: with split-K (few output tiles, long K) each split sums its
// own K range into its own output slice, and the slices are added afterwards.

struct Params {
    m: i32, n: i32, k: i32, tiles_n: i32,      // tiles_n: output tiles across N
    tiles: i32, pitch: i32,                    // tiles per z; workgroups per grid row
    splits: i32, k_chunk: i32,                 // K range per split, a multiple of BK
    z_base: i32, batch_rank: i32,              // z_base: first z of this dispatch (65535 limit)
    a_w: i32, b_w: i32,                        // words per run of a convolution's tile loads (1, 4)
    a_rs: i32, a_ks: i32, b_rs: i32, b_ks: i32, // strides per row (m or n) and per k (strided form)
    _p0: i32, _p1: i32,
    a_kfast: i32, b_kfast: i32,                // tile-load order per operand
    batch_shape: array<vec4<i32>, 2>,          // merged batch dims, outermost first
    a_batch: array<vec4<i32>, 2>,              // their strides in A and B (0: broadcast)
    b_batch: array<vec4<i32>, 2>,
    // convolution geometry (conv2d.wgsl's addressing; zeros for a matmul)
    batch: i32, in_h: i32, in_w: i32, in_c: i32,
    out_h: i32, out_w: i32, out_c: i32, k_w: i32,
    stride_h: i32, stride_w: i32, dil_h: i32, dil_w: i32,
    pad_t: i32, pad_l: i32, _c0: i32, _c1: i32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a_src: array<{{T}}>;
@group(0) @binding(2) var<storage, read> b_src: array<{{T}}>;
@group(0) @binding(3) var<storage, read_write> out: array<{{T}}>;

const WG = {{WG}};
const WX = {{WX}};          // threads across N; WG / WX across M
const BM = {{BM}};
const BN = {{BN}};
const BK = {{BK}};
const B_AT = BK * BM / 4;   // where B's tile starts in sub

// A's tile (BK x BM) then B's (BK x BN), k-major, as vec4s of 4 rows / 4 columns
var<workgroup> sub: array<vec4<{{T}}>, (BM + BN) * BK / 4>;

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

{{CONV}}

// One BK x rows tile of A (of B) from row r0, depth k0, into sub at vec4 `at`; consecutive
// threads on consecutive words of the operand (along k when its kfast, else along rows).
// Rows >= p.m (p.n) and depths >= k_end read as zero, and so does an offset < 0 (padding).
{{FILL_A}}

{{FILL_B}}

fn store(z: i32, m: i32, n: i32, v: vec4<{{T}}>) {
    if (m >= p.m) { return; }
    let w = {{FINISH}};
    let i = (z * p.m + m) * p.n + n;
    for (var c = 0; c < 4; c = c + 1) { if (n + c < p.n) { out[i + c] = w[c]; } }
}

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let tile = i32(wg.x) + i32(wg.y) * p.pitch;
    if (tile >= p.tiles) { return; }   // the grid's last row overhangs; whole workgroups leave
    let z = i32(wg.z) + p.z_base;
    setup(z / p.splits);
    let m0 = (tile / p.tiles_n) * BM;
    let n0 = (tile % p.tiles_n) * BN;
    let k_begin = (z % p.splits) * p.k_chunk;
    let k_end = min(p.k, k_begin + p.k_chunk);
    let t = i32(lid);
    let tx = t % WX;
    let ty = t / WX;
    var c0 = vec4<{{T}}>(0);
    var c1 = vec4<{{T}}>(0);
    var c2 = vec4<{{T}}>(0);
    var c3 = vec4<{{T}}>(0);
    for (var k0 = k_begin; k0 < k_end; k0 = k0 + BK) {
        fill_a(m0, k0, k_end, t);
        fill_b(n0, k0, k_end, t);
        workgroupBarrier();
        for (var k = 0; k < BK; k = k + 1) {
            let a = sub[k * (BM / 4) + ty];
            let b = sub[B_AT + k * WX + tx];
            c0 = c0 + a.x * b;
            c1 = c1 + a.y * b;
            c2 = c2 + a.z * b;
            c3 = c3 + a.w * b;
        }
        workgroupBarrier();
    }
    let m = m0 + ty * 4;
    let n = n0 + tx * 4;
    store(z, m, n, c0);
    store(z, m + 1, n, c1);
    store(z, m + 2, n, c2);
    store(z, m + 3, n, c3);
}

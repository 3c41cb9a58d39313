// 2-D pooling over NHWC, one output (one channel vector: 4 channels when C % 4 == 0) per
// invocation; neighbouring invocations take neighbouring channels, so loads coalesce.
// TensorFlow semantics: padded cells never win a max and are not counted in an average.
// pykernel/backends/webgpu/pooling.py fills in what each window cell does (VISIT, with
// `valid` telling padding from input and `at` the cell's row-major index in the window;
// SKIP_PADDING clips the loops to the input), the set-up (INIT) and the result (RESULT):
//   max    the largest cell (NaN if any cell is NaN, like NumPy),
//   avg    sum / number of valid cells,
//   argmax the window index of the first maximal cell, padded cells counting as -inf,
//          exactly what the max-pool gradient routes to.

struct Params {
    n: i32, h: i32, w: i32, c: i32,      // c: channel vectors
    oh: i32, ow: i32, kh: i32, kw: i32,
    sh: i32, sw: i32, pt: i32, pl: i32,
    total: u32, row_pitch: u32,
    inf_bits: u32,                       // 0x7f800000: WGSL rejects infinite constants
    _pad: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> inp: array<{{VT}}>;
@group(0) @binding(2) var<storage, read_write> out: array<{{OUT_VT}}>;

{{DECLS}}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * p.row_pitch;
    if (i >= p.total) { return; }
    var rest = i32(i);
    let c = rest % p.c; rest = rest / p.c;
    let ox = rest % p.ow; rest = rest / p.ow;
    let oy = rest % p.oh;
    let n = rest / p.oh;
    let y0 = oy * p.sh - p.pt;
    let x0 = ox * p.sw - p.pl;
{{INIT}}
    // max and avg skip the padding; argmax visits it (padded cells rank as -inf there)
    let clip = {{SKIP_PADDING}};
    let ky_end = select(p.kh, min(p.kh, p.h - y0), clip);
    let kx_begin = select(0, max(0, -x0), clip);
    let kx_end = select(p.kw, min(p.kw, p.w - x0), clip);
    for (var ky = select(0, max(0, -y0), clip); ky < ky_end; ky = ky + 1) {
        let iy = y0 + ky;
        for (var kx = kx_begin; kx < kx_end; kx = kx + 1) {
            let ix = x0 + kx;
            let valid = iy >= 0 && iy < p.h && ix >= 0 && ix < p.w;
            let cell = ((n * p.h + iy) * p.w + ix) * p.c + c;
            let at = ky * p.kw + kx;
{{VISIT}}
        }
    }
    out[i] = {{RESULT}};
}

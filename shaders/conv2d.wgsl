// Implicit-GEMM addressing for conv2d (NHWC input, HWIO filter) and its two gradients,
// spliced into the GEMM core (matmul.wgsl) by pykernel/backends/webgpu/conv.py. No im2col
// matrix is ever materialised: the core's tile loaders call these for each element.
//   forward      out[pixel][o]  = sum_tap  x[im2col(pixel, tap)]  * w[tap][o]
//   grad_filter  dw[tap][o]     = sum_pixel x[im2col(pixel, tap)] * dy[pixel][o]
//   grad_input   dx[pixel][c]   = sum_(ky,kx,o) dy[col2im(pixel, (ky,kx,o))] * w[ky][kx][c][o]
// pixel = (b, y, x) flattened; tap = (ky, kx, channel) flattened, channel fastest, so a
// run of channels is a run of memory (vec4 reads when the channel count allows).
// Returns -1 for padding (and strides' gaps), which the core reads as zero.

fn im2col(pixel: i32, tap: i32) -> i32 {
    let ox = pixel % p.out_w;
    let oy = (pixel / p.out_w) % p.out_h;
    let b = pixel / (p.out_w * p.out_h);
    let c = tap % p.in_c;
    let kx = (tap / p.in_c) % p.k_w;
    let ky = tap / (p.in_c * p.k_w);
    let y = oy * p.stride_h - p.pad_t + ky * p.dil_h;
    let x = ox * p.stride_w - p.pad_l + kx * p.dil_w;
    if (y < 0 || y >= p.in_h || x < 0 || x >= p.in_w) { return -1; }
    return ((b * p.in_h + y) * p.in_w + x) * p.in_c + c;
}

// The dy element that input pixel (b, y, x) fed through filter tap (ky, kx) into output
// channel o: the output pixel whose window puts that tap on (y, x), if a stride hits it.
fn col2im(pixel: i32, tap: i32) -> i32 {
    let x = pixel % p.in_w;
    let y = (pixel / p.in_w) % p.in_h;
    let b = pixel / (p.in_w * p.in_h);
    let o = tap % p.out_c;
    let kx = (tap / p.out_c) % p.k_w;
    let ky = tap / (p.out_c * p.k_w);
    let ty = y + p.pad_t - ky * p.dil_h;
    let tx = x + p.pad_l - kx * p.dil_w;
    if (ty < 0 || tx < 0 || ty % p.stride_h != 0 || tx % p.stride_w != 0) { return -1; }
    let oy = ty / p.stride_h;
    let ox = tx / p.stride_w;
    if (oy >= p.out_h || ox >= p.out_w) { return -1; }
    return ((b * p.out_h + oy) * p.out_w + ox) * p.out_c + o;
}

// w[ky][kx][c][o] as grad_input's B operand: row c, depth (ky, kx, o)
fn filter_t(c: i32, tap: i32) -> i32 {
    return ((tap / p.out_c) * p.in_c + c) * p.out_c + tap % p.out_c;
}

//! encoders OUTDIR QUALITY PNG...: encodes each PNG (8-bit RGB) with three settings, writes
//! OUTDIR/<setting>/<name>.jpg and prints: setting, file, median CPU ms of 5 encodes, bytes.

use std::path::Path;

use cpu_time::ThreadTime;

fn read_png(path: &Path) -> (Vec<u8>, usize, usize) {
    let decoder = png::Decoder::new(std::fs::File::open(path).expect("open png"));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("png data");
    assert_eq!(info.color_type, png::ColorType::Rgb, "{}", path.display());
    buf.truncate(info.buffer_size());
    (buf, info.width as usize, info.height as usize)
}

fn encode(pixels: &[u8], w: usize, h: usize, quality: f32, setting: &str) -> Vec<u8> {
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    match setting {
        "turbo-baseline" => {
            c.set_fastest_defaults();
            c.set_optimize_coding(true);
        }
        "turbo-progressive" => {
            c.set_fastest_defaults();
            c.set_progressive_mode();
            c.set_optimize_coding(true);
        }
        _ => {} // mozjpeg defaults
    }
    c.set_size(w, h);
    c.set_quality(quality);
    c.set_chroma_sampling_pixel_sizes((2, 2), (2, 2));
    let mut started = c.start_compress(Vec::new()).expect("start");
    started.write_scanlines(pixels).expect("write");
    started.finish().expect("finish")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = Path::new(&args[1]);
    let quality: f32 = args[2].parse().expect("quality");
    println!("setting\tfile\tcpu_ms\tbytes");
    for setting in ["turbo-baseline", "turbo-progressive", "mozjpeg"] {
        std::fs::create_dir_all(out.join(setting)).unwrap();
        for file in &args[3..] {
            let path = Path::new(file);
            let (px, w, h) = read_png(path);
            let mut times = Vec::new();
            let mut bytes = Vec::new();
            for _ in 0..5 {
                let t = ThreadTime::now();
                bytes = encode(&px, w, h, quality, setting);
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(f64::total_cmp);
            let name = path.file_stem().unwrap().to_string_lossy();
            std::fs::write(out.join(setting).join(format!("{name}.jpg")), &bytes).unwrap();
            println!("{setting}\t{name}\t{:.3}\t{}", times[2], bytes.len());
        }
    }
}

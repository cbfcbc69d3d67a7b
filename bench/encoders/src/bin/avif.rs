//! avif OUTDIR PNG...: the encoder choice behind mod_tofu's AVIF output (bench/avif.sh). Encodes
//! each PNG (8-bit RGB, the references bench/quality made) with libavif + libaom and libavif +
//! rav1e at several speeds and quantizers, and with libwebp at several qualities (the module's
//! WebP encoder), writes OUTDIR/<setting>/<name>.<ext> and prints: setting, file, median CPU ms
//! of 3 encodes (process CPU time: rav1e works in threads of its own even when told to use one),
//! bytes. AVIF_SETTINGS (codec:speed,...) and AVIF_QUANTIZERS (q,...) choose the sweep.

use std::path::Path;

use cpu_time::ProcessTime;
use tofu_libavif::{Codec, EncodeOptions};

fn read_png(path: &Path) -> (Vec<u8>, u32, u32) {
    let decoder = png::Decoder::new(std::fs::File::open(path).expect("open png"));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("png data");
    assert_eq!(info.color_type, png::ColorType::Rgb, "{}", path.display());
    buf.truncate(info.buffer_size());
    (buf, info.width, info.height)
}

type Encoder = Box<dyn Fn(&[u8], u32, u32) -> Vec<u8>>;

/// (setting name, extension, encoder)
fn settings() -> Vec<(String, &'static str, Encoder)> {
    let mut all: Vec<(String, &'static str, Encoder)> = Vec::new();
    let spec =
        std::env::var("AVIF_SETTINGS").unwrap_or_else(|_| "aom:6,aom:8,aom:9,rav1e:10".into());
    let quantizers: Vec<u8> = std::env::var("AVIF_QUANTIZERS")
        .unwrap_or_else(|_| "20,26,32,38".into())
        .split(',')
        .map(|q| q.parse().expect("quantizer"))
        .collect();
    for item in spec.split(',') {
        let (codec, speed) = item.split_once(':').expect("codec:speed");
        let speed: u8 = speed.parse().expect("speed");
        let codec = match codec {
            "aom" => Codec::Aom,
            "rav1e" => Codec::Rav1e,
            other => panic!("unknown codec {other}"),
        };
        for &quantizer in &quantizers {
            let options = EncodeOptions {
                quantizer,
                speed,
                codec,
                yuv444: false,
            };
            all.push((
                format!("{}s{speed}-q{quantizer}", item.split(':').next().unwrap()),
                "avif",
                Box::new(move |px, w, h| tofu_libavif::encode(px, w, h, 3, options).unwrap()),
            ));
        }
    }
    let webp_qualities =
        std::env::var("WEBP_QUALITIES").unwrap_or_else(|_| "75,80,85,90".into());
    for quality in webp_qualities.split(',').filter(|q| !q.is_empty()) {
        let quality: f32 = quality.parse().expect("webp quality");
        all.push((
            format!("webp-q{quality}"),
            "webp",
            Box::new(move |px, w, h| {
                webp::Encoder::from_rgb(px, w, h)
                    .encode_simple(false, quality)
                    .unwrap()
                    .to_vec()
            }),
        ));
    }
    all
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = Path::new(&args[1]);
    let images: Vec<_> = args[2..]
        .iter()
        .map(|f| (Path::new(f), read_png(Path::new(f))))
        .collect();
    println!("setting\tfile\tcpu_ms\tbytes");
    for (setting, ext, encode) in settings() {
        std::fs::create_dir_all(out.join(&setting)).unwrap();
        for (path, (px, w, h)) in &images {
            let mut times = Vec::new();
            let mut bytes = Vec::new();
            for _ in 0..3 {
                let t = ProcessTime::now();
                bytes = encode(px, *w, *h);
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(f64::total_cmp);
            let name = path.file_stem().unwrap().to_string_lossy();
            std::fs::write(out.join(&setting).join(format!("{name}.{ext}")), &bytes).unwrap();
            println!("{setting}\t{name}\t{:.3}\t{}", times[1], bytes.len());
        }
    }
}

//! `tofu-bench`: the in-process side of the benchmarks in bench/ (bench/README.md).
//!
//! - `tofu-bench cpu OPS... -- FILES...` runs the module's pipeline (`transform::run`, exactly
//!   what a request runs) on each file for each ops, in a loop in this one thread, and prints one
//!   tab-separated line per (ops, file): the median thread CPU time per image, the minimum, the
//!   iterations, and the output's bytes and size.
//! - `tofu-bench reference IN WxH[c] OUT.png` writes a careful reference for quality checks: the
//!   whole source decoded at full size, turned upright, converted to linear light (f32), cut
//!   (for `c`, the centred window of the output's aspect) and resampled with Lanczos3 to exactly
//!   W×H, converted back to sRGB.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use cpu_time::ThreadTime;
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use tofu_core::config::DEFAULT_QUALITY;
use tofu_core::ops::OutputFormat;
use tofu_core::transform::{self, Job, Limits};
use tofu_core::url;

#[derive(Parser)]
#[command(
    name = "tofu-bench",
    about = "In-process benchmark and references (bench/)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Thread CPU time per image of the module's pipeline: OPS... -- FILES...
    Cpu {
        /// Keep iterating one (ops, file) until this much CPU time is spent (seconds)
        #[arg(long, default_value_t = 0.3)]
        min_time: f64,
        /// ...and at least this many iterations (after one warm-up run)
        #[arg(long, default_value_t = 5)]
        min_iterations: u32,
        /// Write each output to DIR/<job index>/<file stem>.<ext>
        #[arg(long)]
        out_dir: Option<PathBuf>,
        /// Output format (jpg, png, webp, avif) as a URL extension asks; default the source's
        #[arg(long)]
        format: Option<String>,
        /// ops segments (e.g. 280x210c-q80), then `--`, then the files
        #[arg(required = true, num_args = 1..)]
        ops: Vec<String>,
        #[arg(last = true, required = true)]
        files: Vec<PathBuf>,
    },
    /// Linear-light Lanczos3 reference of a source at exactly WxH (c: centred crop)
    Reference {
        input: PathBuf,
        size: String,
        output: PathBuf,
    },
}

fn main() -> ExitCode {
    tofu_cli::finish("tofu-bench", run(Cli::parse()))
}

const LIMITS: Limits = Limits {
    max_source_pixels: 100_000_000,
};

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Cpu {
            min_time,
            min_iterations,
            out_dir,
            format,
            ops,
            files,
        } => {
            let format = format
                .as_deref()
                .map(|e| OutputFormat::from_extension(e).ok_or(format!("unknown format {e}")))
                .transpose()?;
            cpu(min_time, min_iterations, out_dir, format, &ops, &files)
        }
        Command::Reference {
            input,
            size,
            output,
        } => reference(&input, &size, &output),
    }
}

fn cpu(
    min_time: f64,
    min_iterations: u32,
    out_dir: Option<PathBuf>,
    format: Option<OutputFormat>,
    ops: &[String],
    files: &[PathBuf],
) -> Result<(), String> {
    let jobs = ops
        .iter()
        .map(|o| {
            url::parse_ops(o, u32::MAX)
                .map(|ops| Job {
                    ops,
                    format,
                    default_quality: DEFAULT_QUALITY,
                })
                .map_err(|e| format!("{o}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    println!("ops\tfile\tcpu_ms_median\tcpu_ms_min\titerations\tbytes\twidth\theight");
    for (index, (job, ops)) in jobs.iter().zip(ops).enumerate() {
        for file in files {
            let source = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
            // One warm-up run (page faults of first use, lazy initialisation).
            let first = transform::run(&source, job, &LIMITS)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            let mut times = Vec::new();
            let mut total = Duration::ZERO;
            while times.len() < min_iterations as usize || total.as_secs_f64() < min_time {
                let start = ThreadTime::now();
                let out = transform::run(&source, job, &LIMITS)
                    .map_err(|e| format!("{}: {e}", file.display()))?;
                let spent = start.elapsed();
                std::hint::black_box(out);
                total += spent;
                times.push(spent.as_secs_f64() * 1000.0);
            }
            times.sort_by(f64::total_cmp);
            let median = times[times.len() / 2];
            let stem = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Some(dir) = &out_dir {
                let dir = dir.join(index.to_string());
                std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                let path = dir.join(format!("{stem}.{}", first.format.extension()));
                std::fs::write(&path, &first.bytes)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            println!(
                "{ops}\t{stem}\t{median:.3}\t{:.3}\t{}\t{}\t{}\t{}",
                times[0],
                times.len(),
                first.bytes.len(),
                first.width,
                first.height
            );
        }
    }
    Ok(())
}

fn srgb_to_linear(v: u8) -> f32 {
    let c = f32::from(v) / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

fn linear_to_srgb(c: f32) -> u8 {
    let c = c.clamp(0.0, 1.0);
    let v = if c <= 0.003_130_8 {
        c * 12.92
    } else {
        1.055 * c.powf(1.0 / 2.4) - 0.055
    };
    (v * 255.0).round().clamp(0.0, 255.0) as u8
}

fn reference(input: &PathBuf, size: &str, output: &PathBuf) -> Result<(), String> {
    let fill = size.ends_with('c');
    let (w, h) = size
        .trim_end_matches('c')
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
        .filter(|&(w, h)| w > 0 && h > 0)
        .ok_or_else(|| format!("size {size}: want WxH or WxHc"))?;
    let source = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let (rgb, sw, sh) =
        transform::decode_rgb_upright(&source, &LIMITS).map_err(|e| e.to_string())?;
    let (sw_f, sh_f) = (f64::from(sw), f64::from(sh));
    let (cx, cy, cw, ch) = if fill {
        let aspect = f64::from(w) / f64::from(h);
        if sw_f / sh_f > aspect {
            let cw = sh_f * aspect;
            ((sw_f - cw) / 2.0, 0.0, cw, sh_f)
        } else {
            let ch = sw_f / aspect;
            (0.0, (sh_f - ch) / 2.0, sw_f, ch)
        }
    } else {
        (0.0, 0.0, sw_f, sh_f)
    };
    let table: Vec<f32> = (0..=255u8).map(srgb_to_linear).collect();
    let linear: Vec<u8> = rgb
        .iter()
        .flat_map(|&v| table[usize::from(v)].to_ne_bytes())
        .collect();
    let src = ImageRef::new(sw, sh, &linear, PixelType::F32x3).map_err(|e| e.to_string())?;
    let mut dst = Image::new(w, h, PixelType::F32x3);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(cx, cy, cw, ch);
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| e.to_string())?;
    let out: Vec<u8> = dst
        .buffer()
        .chunks_exact(4)
        .map(|b| linear_to_srgb(f32::from_ne_bytes([b[0], b[1], b[2], b[3]])))
        .collect();
    image::save_buffer(output, &out, w, h, image::ExtendedColorType::Rgb8)
        .map_err(|e| format!("{}: {e}", output.display()))
}

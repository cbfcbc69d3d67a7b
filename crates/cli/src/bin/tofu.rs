//! `tofu`: the core without Apache. Signs URLs (for apps, scripts and the demo), checks them, and
//! runs exactly the module's transform pipeline on files (for benchmarks and debugging).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};

use tofu_core::config::{
    parse_secret_file, DEFAULT_MAX_OUTPUT_DIMENSION, DEFAULT_MAX_SOURCE_PIXELS, DEFAULT_QUALITY,
};
use tofu_core::ops::OutputFormat;
use tofu_core::signature::{Keys, DEFAULT_SIGNATURE_BYTES};
use tofu_core::transform::{self, Job, Limits};
use tofu_core::url;

#[derive(Parser)]
#[command(
    name = "tofu",
    version,
    about = "Sign, verify and render mod_tofu image URLs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the signed URL path of an image: PREFIX/ID/OPS/SIGNATURE[.EXT]
    Sign {
        #[command(flatten)]
        keys: KeyArgs,
        /// The <Location> the module serves (e.g. /img)
        #[arg(long, default_value = "")]
        prefix: String,
        /// The image id, unencoded (e.g. recipes/123); it is percent-encoded canonically
        id: String,
        /// The ops segment (e.g. 280x210c-q80) or a TofuPreset name
        ops: String,
        /// Output extension: jpg, png, webp or avif (omit for the source's format)
        ext: Option<String>,
        /// Expiry: unix seconds, or +SECONDS from now; appended to OPS as -e<unix-seconds>
        #[arg(long, value_name = "UNIX-SECONDS|+SECONDS", value_parser = parse_expires)]
        expires: Option<u64>,
    },
    /// Check a URL path (after the prefix) the way the module does; exit 0 when it is valid
    Verify {
        #[command(flatten)]
        keys: KeyArgs,
        /// The path after the location prefix, e.g. 123/280x210c-q80/<sig>.jpg
        path: String,
    },
    /// Run the module's pipeline on a file: tofu resize IN OPS OUT (format from OUT's extension)
    Resize {
        input: PathBuf,
        /// The ops segment (e.g. 280x210c-q80)
        ops: String,
        output: PathBuf,
        /// Quality when OPS has no q option
        #[arg(long, default_value_t = DEFAULT_QUALITY)]
        default_quality: u8,
        /// TofuMaxSourcePixels
        #[arg(long, default_value_t = DEFAULT_MAX_SOURCE_PIXELS)]
        max_source_pixels: u64,
    },
}

#[derive(Args)]
struct KeyArgs {
    /// An HMAC key (repeatable: the first signs, all verify)
    #[arg(long = "secret")]
    secrets: Vec<String>,
    /// A file with one key per line
    #[arg(long)]
    secret_file: Option<PathBuf>,
    /// Signature length in bytes (TofuSignatureBytes)
    #[arg(long, default_value_t = DEFAULT_SIGNATURE_BYTES)]
    signature_bytes: usize,
}

impl KeyArgs {
    fn keys(&self) -> Result<Keys, String> {
        let mut keys: Vec<Vec<u8>> = self.secrets.iter().map(|s| s.as_bytes().to_vec()).collect();
        if let Some(file) = &self.secret_file {
            let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
            keys.extend(parse_secret_file(&bytes));
        }
        if keys.is_empty() || keys.iter().any(Vec::is_empty) {
            return Err("give at least one non-empty --secret or --secret-file".into());
        }
        Ok(Keys::new(keys))
    }
}

/// `--expires`: absolute unix seconds, or `+SECONDS` from now.
fn parse_expires(arg: &str) -> Result<u64, String> {
    let number = |digits: &str| {
        digits
            .parse::<u64>()
            .map_err(|e| format!("{digits:?}: {e}"))
    };
    match arg.strip_prefix('+') {
        Some(seconds) => now()
            .checked_add(number(seconds)?)
            .ok_or_else(|| format!("{arg} from now is too late")),
        None => number(arg),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn main() -> ExitCode {
    tofu_cli::finish("tofu", run(Cli::parse()))
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Sign {
            keys,
            prefix,
            id,
            ops,
            ext,
            expires,
        } => {
            let ops = match expires {
                Some(seconds) => format!("{ops}-e{seconds}"),
                None => ops,
            };
            let format = ext
                .as_deref()
                .map(|e| OutputFormat::from_extension(e).ok_or(format!("unknown extension {e}")))
                .transpose()?;
            let raw_id = url::encode_id(&id);
            // Refuse to sign what the module would refuse to serve. A preset name (which an
            // expiry may follow) is the server's to resolve: only its spelling is checked.
            let sig_placeholder = "0".repeat(keys.signature_bytes * 2);
            url::parse_with(&format!("{raw_id}/{ops}/{sig_placeholder}"), |ops| {
                match url::is_preset_name(ops) {
                    true => url::parse_ops("1x", 1),
                    false => url::parse_ops(ops, DEFAULT_MAX_OUTPUT_DIMENSION),
                }
            })
            .map_err(|e| e.to_string())?;
            let signed = url::signed_string(&raw_id, &ops, format);
            let signature = keys
                .keys()?
                .sign(&signed, keys.signature_bytes)
                .ok_or("no key")?;
            let ext = format
                .map(|f| format!(".{}", f.extension()))
                .unwrap_or_default();
            println!(
                "{}/{raw_id}/{ops}/{signature}{ext}",
                prefix.trim_end_matches('/')
            );
            Ok(())
        }
        Command::Verify { keys, path } => {
            let request = url::parse(path.trim_start_matches('/'), u32::MAX)
                .map_err(|e| format!("{} {e}", e.status()))?;
            if keys.keys()?.verify(
                &request.signed_string(),
                &request.signature,
                keys.signature_bytes,
            ) {
                if let Some(expires) = request.expires {
                    tofu_core::expiry::check(expires, SystemTime::now())
                        .map_err(|e| format!("{} {e}", e.status()))?;
                }
                println!(
                    "ok: id {:?}, signed string {:?}",
                    request.id,
                    request.signed_string()
                );
                Ok(())
            } else {
                Err(format!(
                    "403 signature does not match (signed string {:?})",
                    request.signed_string()
                ))
            }
        }
        Command::Resize {
            input,
            ops,
            output,
            default_quality,
            max_source_pixels,
        } => {
            let ops = url::parse_ops(&ops, u32::MAX).map_err(|e| e.to_string())?;
            let format = output
                .extension()
                .and_then(|e| e.to_str())
                .and_then(OutputFormat::from_extension);
            let source = std::fs::read(&input).map_err(|e| format!("{}: {e}", input.display()))?;
            let job = Job {
                ops,
                format,
                default_quality,
            };
            let encoded = transform::run(&source, &job, &Limits { max_source_pixels })
                .map_err(|e| format!("{} {e}", e.status()))?;
            std::fs::write(&output, &encoded.bytes)
                .map_err(|e| format!("{}: {e}", output.display()))?;
            let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
            let stages = encoded.stages;
            eprintln!(
                "{}x{} {} ({} bytes); decoded by {}: decode {:.1} ms, resize {:.1} ms, encode {:.1} ms",
                encoded.width,
                encoded.height,
                encoded.format.mime_type(),
                encoded.bytes.len(),
                stages.decoder,
                ms(stages.decode),
                ms(stages.resize),
                ms(stages.encode),
            );
            Ok(())
        }
    }
}

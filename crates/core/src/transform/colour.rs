//! Colour management: an embedded ICC profile is honoured by converting pixels to sRGB with Little
//! CMS ([`lcms2`]), so that a Display P3, Adobe RGB, ProPhoto, grey or CMYK original looks on the
//! web as it does in the photographer's tools. The output carries no profile (sRGB implied).
//!
//! The conversion runs on the small result, after the resize (as libvips' thumbnail does), except
//! for CMYK, which the resampler cannot work in: CMYK is converted on the decoded window, after
//! shrink-on-load. An untagged image pays nothing; an sRGB-tagged one pays a parse of its profile
//! header and tags (microseconds), no transform.
//!
//! A profile is attacker input: above [`MAX_PROFILE_BYTES`], malformed (lcms refuses it, the JPEG
//! segments do not reassemble), of a class or colour space that does not fit the pixels, it is
//! ignored — the image is taken as sRGB, as before colour management — and a note says why
//! (the handler logs it at debug level). Nothing in here fails a request.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use lcms2::{
    ColorSpaceSignature, Intent, PixelFormat, Profile, ProfileClassSignature, Tag, TagSignature,
    ToneCurve, Transform,
};

use super::pixels::{Layout, Pixels};

/// The largest embedded profile honoured. Camera and display profiles are under 4 KB (Display P3
/// 0.5 KB, sRGB 3 KB), press CMYK profiles 0.5–2 MB (U.S. Web Coated SWOP v2 557 KB, PSO Coated v3
/// about 2 MB); what Little CMS allocates follows the profile's size, so this bounds the memory
/// a hostile profile costs.
pub const MAX_PROFILE_BYTES: usize = 4 << 20;

/// The CMYK profile of a CMYK JPEG that embeds none: FOGRA39 (ISO 12647-2 coated paper, the
/// data behind Photoshop's "Coated FOGRA39" and ISO Coated v2), made with ArgyllCMS from the
/// free characterisation data (crates/core/icc/README.md).
const DEFAULT_CMYK: &[u8] = include_bytes!("../../icc/default-cmyk.icc");

/// How many transforms each thread keeps for the next images with the same profile.
///
/// Building a Little CMS transform costs far more than running it on a thumbnail: measured with
/// callgrind on a 10 Mpx Adobe RGB photo made into a 280x210 fill, 27 M instructions to build
/// (the optimiser samples the curves) against 7 M to convert, on a 118 M untagged pipeline. Photos
/// of one site come from few profiles (Display P3, Adobe RGB, a press CMYK), so a handful per
/// thread catches nearly all of them. Per thread, like the resampler's scratch (resize.rs): no
/// lock, and httpd never unloads the module under a live thread (`-z nodelete`).
const KEPT_TRANSFORMS: usize = 4;

/// Profiles above this size are not kept (their transform is built per image): it bounds what a
/// thread holds to [`KEPT_TRANSFORMS`] × this in profile bytes plus the transforms' tables.
const KEPT_PROFILE_BYTES: usize = 256 << 10;

thread_local! {
    /// This thread's last transforms, most recent first, keyed by the exact profile bytes (a hash
    /// alone would let a crafted profile take the place of a common one) and pixel formats.
    static TRANSFORMS: RefCell<Vec<Kept>> = const { RefCell::new(Vec::new()) };
}

/// One kept transform and what it was built for.
struct Kept {
    profile: Rc<[u8]>,
    from: u32,
    to: u32,
    transform: Rc<Transform<u8, u8>>,
}

/// lcms' `LCMS_USED_AS_INPUT`.
const USED_AS_INPUT: u32 = 0;

/// What the decoder's pixels are, for matching them with a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    Rgb,
    Gray,
    /// CMYK (or YCCK turned CMYK by libjpeg); `inverted` for Adobe JPEGs (APP14), which store
    /// `255 − ink`.
    Cmyk {
        inverted: bool,
    },
}

/// An embedded profile as found in the container, before it is parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Embedded {
    None,
    Icc(Vec<u8>),
    /// The container's profile could not be read (segments missing, a decoder error): why.
    Unreadable(String),
}

/// How one image's colours reach sRGB: nothing to do, or a profile to convert from. Holds a
/// note when a profile was ignored, for the log.
pub struct Colour {
    source: Option<Source>,
    model: Model,
    note: Option<String>,
}

/// A parsed input profile and the intent to convert it with.
struct Source {
    /// The profile's bytes: the key of the kept transforms (the intent follows from them).
    bytes: Cow<'static, [u8]>,
    profile: Profile,
    intent: Intent,
    /// Only for the words of a note.
    what: &'static str,
}

impl Colour {
    /// The colours of an image with `embedded` profile whose decoder gives `model` pixels.
    pub fn new(embedded: Embedded, model: Model) -> Colour {
        let mut colour = Colour {
            source: None,
            model,
            note: None,
        };
        let bytes = match embedded {
            Embedded::None => {
                if let Model::Cmyk { .. } = model {
                    colour.source = Source::parse(Cow::Borrowed(DEFAULT_CMYK), "default CMYK").ok();
                }
                return colour;
            }
            Embedded::Unreadable(why) => {
                colour.ignore(why);
                return colour;
            }
            Embedded::Icc(bytes) => bytes,
        };
        if bytes.len() > MAX_PROFILE_BYTES {
            colour.ignore(format!(
                "{} bytes, above the bound of {MAX_PROFILE_BYTES}",
                bytes.len()
            ));
            return colour;
        }
        match Source::parse(Cow::Owned(bytes), "embedded").and_then(|s| s.fits(model).map(|()| s)) {
            Ok(source) if source.is_srgb() => {}
            Ok(source) => colour.source = Some(source),
            Err(why) => colour.ignore(why),
        }
        if colour.source.is_none() {
            if let Model::Cmyk { .. } = model {
                // A CMYK image must become RGB somehow: the default profile does it.
                colour.source = Source::parse(Cow::Borrowed(DEFAULT_CMYK), "default CMYK").ok();
            }
        }
        colour
    }

    /// Whether pixels will be converted.
    #[cfg(test)]
    pub fn converts(&self) -> bool {
        self.source.is_some()
    }

    /// Why the embedded profile was ignored, if it was.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    fn ignore(&mut self, why: impl std::fmt::Display) {
        let taken_as = match self.model {
            Model::Cmyk { .. } => "the default CMYK profile",
            Model::Rgb | Model::Gray => "sRGB",
        };
        self.note = Some(format!(
            "embedded colour profile ignored, the image is taken as {taken_as}: {why}"
        ));
    }

    /// Converts CMYK pixels (4 bytes each, as libjpeg gives them) to sRGB (3 bytes each) in
    /// place. Without a usable profile (only when the built-in one failed, which a test rules
    /// out) the naive formula is used.
    pub fn cmyk_to_rgb(&mut self, data: &mut Vec<u8>, width: u32) {
        let Model::Cmyk { inverted } = self.model else {
            return;
        };
        let format = if inverted {
            PixelFormat::CMYK_8_REV
        } else {
            PixelFormat::CMYK_8
        };
        let transform = self
            .source
            .as_ref()
            .map(|s| s.transform(format, PixelFormat::RGB_8));
        let transform = match transform {
            Some(Ok(t)) => t,
            other => {
                if let Some(Err(why)) = other {
                    self.ignore(why);
                }
                super::pixels::cmyk_to_rgb_in_place(data, inverted);
                return;
            }
        };
        // Row by row through a scratch row: row r is read whole before its 3-byte pixels are
        // written at 3·w·r, which ends before row r + 1 starts at 4·w·(r + 1).
        let w = width as usize;
        let rows = data.len() / (4 * w.max(1));
        let mut row = vec![0u8; 3 * w];
        for r in 0..rows {
            transform.transform_pixels(&data[4 * w * r..4 * w * (r + 1)], &mut row);
            data[3 * w * r..3 * w * (r + 1)].copy_from_slice(&row);
        }
        data.truncate(3 * w * rows);
    }

    /// Converts RGB(A) or gray(+alpha) pixels to sRGB in place (alpha untouched). CMYK was
    /// converted at decode: nothing is done for it here.
    pub fn apply(&mut self, pixels: &mut Pixels) {
        if matches!(self.model, Model::Cmyk { .. }) {
            return;
        }
        let Some(source) = &self.source else {
            return;
        };
        let format = match pixels.layout {
            Layout::Rgb => PixelFormat::RGB_8,
            Layout::Rgba => PixelFormat::RGBA_8,
            Layout::Gray => PixelFormat::GRAY_8,
            Layout::GrayAlpha => PixelFormat::GRAYA_8,
        };
        match source.transform(format, format) {
            Ok(transform) => {
                let n = pixels.layout.channels();
                let whole = pixels.data.len() / n * n;
                transform.transform_in_place(&mut pixels.data[..whole]);
            }
            Err(why) => self.ignore(why),
        }
    }
}

impl Source {
    fn parse(bytes: Cow<'static, [u8]>, what: &'static str) -> Result<Source, String> {
        let profile =
            Profile::new_icc(&bytes).map_err(|_| "Little CMS cannot read it".to_string())?;
        let intent = if profile.is_intent_supported(Intent::Perceptual, USED_AS_INPUT) {
            Intent::Perceptual
        } else {
            Intent::RelativeColorimetric
        };
        Ok(Source {
            bytes,
            profile,
            intent,
            what,
        })
    }

    /// Whether the profile can describe `model` pixels.
    fn fits(&self, model: Model) -> Result<(), String> {
        match self.profile.device_class() {
            ProfileClassSignature::InputClass
            | ProfileClassSignature::DisplayClass
            | ProfileClassSignature::OutputClass
            | ProfileClassSignature::ColorSpaceClass => {}
            other => return Err(format!("a profile of class {other:?} describes no image")),
        }
        let space = self.profile.color_space();
        let fits = matches!(
            (model, space),
            (Model::Rgb, ColorSpaceSignature::RgbData)
                | (Model::Gray, ColorSpaceSignature::GrayData)
                | (Model::Cmyk { .. }, ColorSpaceSignature::CmykData)
        );
        if fits {
            Ok(())
        } else {
            Err(format!("a {space:?} profile on {model:?} pixels"))
        }
    }

    /// A matrix/TRC profile whose colorants and curves are sRGB's (within what 8-bit pixels can
    /// show), or a grey profile with sRGB's curve: converting would change nothing, so nothing
    /// is built.
    fn is_srgb(&self) -> bool {
        let p = &self.profile;
        let curve_is_srgb = |tag: TagSignature| match p.read_tag(tag) {
            Tag::ToneCurve(curve) => [0.02f32, 0.1, 0.25, 0.5, 0.75, 0.95]
                .iter()
                .all(|&v| (curve.eval(v) - srgb_decode(v)).abs() < 0.5 / 255.0),
            _ => false,
        };
        match p.color_space() {
            ColorSpaceSignature::GrayData => curve_is_srgb(TagSignature::GrayTRCTag),
            ColorSpaceSignature::RgbData if p.is_matrix_shaper() => {
                let srgb = Profile::new_srgb();
                let close = |tag: TagSignature| match (p.read_tag(tag), srgb.read_tag(tag)) {
                    (Tag::CIEXYZ(a), Tag::CIEXYZ(b)) => {
                        (a.X - b.X).abs() < 0.003
                            && (a.Y - b.Y).abs() < 0.003
                            && (a.Z - b.Z).abs() < 0.003
                    }
                    _ => false,
                };
                [
                    TagSignature::RedColorantTag,
                    TagSignature::GreenColorantTag,
                    TagSignature::BlueColorantTag,
                ]
                .into_iter()
                .all(close)
                    && [
                        TagSignature::RedTRCTag,
                        TagSignature::GreenTRCTag,
                        TagSignature::BlueTRCTag,
                    ]
                    .into_iter()
                    .all(curve_is_srgb)
            }
            _ => false,
        }
    }

    /// The transform from this profile to sRGB for these pixel formats: one this thread built
    /// for an earlier image with the same profile, else a new one (kept if the profile is small).
    fn transform(
        &self,
        from: PixelFormat,
        to: PixelFormat,
    ) -> Result<Rc<Transform<u8, u8>>, String> {
        if self.bytes.len() > KEPT_PROFILE_BYTES {
            return self.build(from, to).map(Rc::new);
        }
        TRANSFORMS.with(|kept| {
            let mut kept = kept.borrow_mut();
            let same = |k: &Kept| k.from == from.0 && k.to == to.0 && *k.profile == *self.bytes;
            if let Some(i) = kept.iter().position(same) {
                let hit = kept.remove(i);
                let transform = Rc::clone(&hit.transform);
                kept.insert(0, hit);
                return Ok(transform);
            }
            let transform = Rc::new(self.build(from, to)?);
            kept.insert(
                0,
                Kept {
                    profile: Rc::from(&*self.bytes),
                    from: from.0,
                    to: to.0,
                    transform: Rc::clone(&transform),
                },
            );
            kept.truncate(KEPT_TRANSFORMS);
            Ok(transform)
        })
    }

    /// Builds the transform from this profile to sRGB (grey: to a grey of sRGB's curve, so grey
    /// stays one channel).
    fn build(&self, from: PixelFormat, to: PixelFormat) -> Result<Transform<u8, u8>, String> {
        let output = if self.profile.color_space() == ColorSpaceSignature::GrayData {
            srgb_gray()?
        } else {
            Profile::new_srgb()
        };
        Transform::new(&self.profile, from, &output, to, self.intent)
            .map_err(|_| format!("Little CMS cannot convert from the {} profile", self.what))
    }
}

/// Takes `profile` as the embedded profile of a small RGB image, a grey one and a CMYK one and
/// converts their pixels, as the pipeline would: what the `colour` fuzz target drives, since the
/// pipeline reaches a profile only through a container. Returns the notes of those it ignored.
pub fn exercise(profile: &[u8]) -> Vec<String> {
    let mut notes = Vec::new();
    for (model, layout, data) in [
        (
            Model::Rgb,
            Layout::Rgba,
            vec![0u8, 64, 128, 255, 255, 192, 32, 7],
        ),
        (Model::Gray, Layout::Gray, vec![0, 17, 128, 255]),
    ] {
        let mut colour = Colour::new(Embedded::Icc(profile.to_vec()), model);
        let mut pixels = Pixels {
            width: (data.len() / layout.channels()) as u32,
            height: 1,
            data,
            layout,
        };
        colour.apply(&mut pixels);
        notes.extend(colour.note().map(str::to_string));
    }
    for inverted in [false, true] {
        let mut colour = Colour::new(Embedded::Icc(profile.to_vec()), Model::Cmyk { inverted });
        let mut data = vec![0, 0, 0, 0, 255, 128, 64, 32];
        colour.cmyk_to_rgb(&mut data, 2);
        assert_eq!(data.len(), 6, "CMYK to RGB keeps every pixel");
        notes.extend(colour.note().map(str::to_string));
    }
    notes
}

/// A grey profile with sRGB's white (D65) and curve: the output of grey images.
fn srgb_gray() -> Result<Profile, String> {
    let curve =
        ToneCurve::new_parametric(4, &[2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045])
            .map_err(|_| "no sRGB curve".to_string())?;
    let d65 = lcms2::CIExyY {
        x: 0.3127,
        y: 0.3290,
        Y: 1.0,
    };
    Profile::new_gray(&d65, &curve).map_err(|_| "no sRGB grey profile".to_string())
}

/// sRGB's decoding curve (IEC 61966-2-1), encoded value → linear light.
fn srgb_decode(v: f32) -> f32 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lcms2::{CIExyY, CIExyYTRIPLE};

    const D65: CIExyY = CIExyY {
        x: 0.3127,
        y: 0.3290,
        Y: 1.0,
    };

    /// An RGB matrix/TRC profile from primaries and a curve, as camera and display profiles are.
    fn rgb_profile(primaries: [(f64, f64); 3], curve: &ToneCurve) -> Vec<u8> {
        let [r, g, b] = primaries.map(|(x, y)| CIExyY { x, y, Y: 1.0 });
        let triple = CIExyYTRIPLE {
            Red: r,
            Green: g,
            Blue: b,
        };
        Profile::new_rgb(&D65, &triple, &[curve, curve, curve])
            .unwrap()
            .icc()
            .unwrap()
    }

    fn srgb_curve() -> ToneCurve {
        ToneCurve::new_parametric(4, &[2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045])
            .unwrap()
    }

    fn display_p3() -> Vec<u8> {
        rgb_profile(
            [(0.680, 0.320), (0.265, 0.690), (0.150, 0.060)],
            &srgb_curve(),
        )
    }

    /// Adobe RGB (1998): its primaries and its 563/256 gamma.
    fn adobe_rgb() -> Vec<u8> {
        let curve = ToneCurve::new(563.0 / 256.0);
        rgb_profile([(0.64, 0.33), (0.21, 0.71), (0.15, 0.06)], &curve)
    }

    fn srgb_encode(v: f64) -> f64 {
        let v = v.clamp(0.0, 1.0);
        255.0
            * if v <= 0.0031308 {
                12.92 * v
            } else {
                1.055 * v.powf(1.0 / 2.4) - 0.055
            }
    }

    /// Converts with the published linear-light matrix from `space` to sRGB (both D65).
    fn by_matrix(rgb: [u8; 3], decode: impl Fn(f64) -> f64, m: [[f64; 3]; 3]) -> [f64; 3] {
        let lin = rgb.map(|v| decode(f64::from(v) / 255.0));
        m.map(|row| srgb_encode(row[0] * lin[0] + row[1] * lin[1] + row[2] * lin[2]))
    }

    fn convert(profile: Vec<u8>, layout: Layout, data: &[u8]) -> (Vec<u8>, Colour) {
        let model = match layout {
            Layout::Gray | Layout::GrayAlpha => Model::Gray,
            Layout::Rgb | Layout::Rgba => Model::Rgb,
        };
        let mut colour = Colour::new(Embedded::Icc(profile), model);
        let mut pixels = Pixels {
            data: data.to_vec(),
            width: (data.len() / layout.channels()) as u32,
            height: 1,
            layout,
        };
        colour.apply(&mut pixels);
        (pixels.data, colour)
    }

    const SAMPLES: [[u8; 3]; 6] = [
        [200, 40, 30],
        [30, 180, 60],
        [20, 40, 220],
        [128, 128, 128],
        [250, 220, 120],
        [90, 60, 140],
    ];

    #[test]
    fn display_p3_and_adobe_rgb_convert_as_their_matrices_say() {
        let srgb = |v: f64| f64::from(srgb_decode(v as f32));
        let p3_to_srgb = [
            [1.2249, -0.2247, 0.0],
            [-0.0420, 1.0419, 0.0],
            [-0.0197, -0.0786, 1.0979],
        ];
        let adobe_to_srgb = [
            [1.3982, -0.3982, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, -0.0429, 1.0429],
        ];
        let adobe = |v: f64| v.powf(563.0 / 256.0);
        for (name, profile, decode, m) in [
            ("P3", display_p3(), &srgb as &dyn Fn(f64) -> f64, p3_to_srgb),
            ("Adobe RGB", adobe_rgb(), &adobe, adobe_to_srgb),
        ] {
            let data: Vec<u8> = SAMPLES.iter().flatten().copied().collect();
            let (out, colour) = convert(profile, Layout::Rgb, &data);
            assert!(colour.note().is_none(), "{name}: {:?}", colour.note());
            let mut moved = 0;
            for (i, sample) in SAMPLES.iter().enumerate() {
                let want = by_matrix(*sample, decode, m);
                for c in 0..3 {
                    let got = f64::from(out[3 * i + c]);
                    assert!(
                        (got - want[c]).abs() <= 2.0,
                        "{name} {sample:?}: {got} vs {want:?}"
                    );
                    moved += usize::from(out[3 * i + c] != sample[c]);
                }
            }
            assert!(moved >= 6, "{name}: the conversion changed almost nothing");
        }
    }

    #[test]
    fn alpha_is_kept_and_gray_stays_gray() {
        let (out, _) = convert(display_p3(), Layout::Rgba, &[200, 40, 30, 77, 1, 2, 3, 0]);
        assert_eq!((out[3], out[7]), (77, 0));
        assert_ne!(&out[..3], &[200, 40, 30]);
        // Grey with a 2.2 gamma: 128 is linear 0.2195, which sRGB encodes as 129.6.
        let gray = Profile::new_gray(&D65, &ToneCurve::new(2.2))
            .unwrap()
            .icc()
            .unwrap();
        let (out, colour) = convert(gray.clone(), Layout::Gray, &[0, 128, 255]);
        assert!(colour.converts());
        assert_eq!(out[0], 0);
        assert!((129..=131).contains(&out[1]), "{out:?}");
        assert_eq!(out[2], 255);
        let (out, _) = convert(gray, Layout::GrayAlpha, &[128, 9]);
        assert_eq!(out[1], 9);
    }

    #[test]
    fn srgb_profiles_cost_no_transform() {
        let builtin = Profile::new_srgb().icc().unwrap();
        let from_primaries = rgb_profile([(0.64, 0.33), (0.30, 0.60), (0.15, 0.06)], &srgb_curve());
        let gray = Profile::new_gray(&D65, &srgb_curve())
            .unwrap()
            .icc()
            .unwrap();
        for (name, bytes, model) in [
            ("built-in", builtin, Model::Rgb),
            ("primaries", from_primaries, Model::Rgb),
            ("gray", gray, Model::Gray),
        ] {
            let colour = Colour::new(Embedded::Icc(bytes), model);
            assert!(!colour.converts(), "{name}");
            assert!(colour.note().is_none(), "{name}");
        }
        // Near sRGB is not sRGB: P3 is converted.
        assert!(Colour::new(Embedded::Icc(display_p3()), Model::Rgb).converts());
        assert!(!Colour::new(Embedded::None, Model::Rgb).converts());
    }

    #[test]
    fn unusable_profiles_are_ignored_with_a_note() {
        let mut truncated = display_p3();
        truncated.truncate(100);
        let mut bad_tag = display_p3();
        let n = bad_tag.len();
        bad_tag[n - 40..].fill(0xFF);
        let cmyk = DEFAULT_CMYK.to_vec();
        for (name, embedded, model, why) in [
            (
                "garbage",
                Embedded::Icc(b"not a profile".to_vec()),
                Model::Rgb,
                "cannot read",
            ),
            ("truncated", Embedded::Icc(truncated), Model::Rgb, "cannot"),
            (
                "empty",
                Embedded::Icc(Vec::new()),
                Model::Rgb,
                "cannot read",
            ),
            (
                "too big",
                Embedded::Icc(vec![0; MAX_PROFILE_BYTES + 1]),
                Model::Rgb,
                "above",
            ),
            ("CMYK on RGB", Embedded::Icc(cmyk), Model::Rgb, "CmykData"),
            (
                "RGB on gray",
                Embedded::Icc(display_p3()),
                Model::Gray,
                "RgbData",
            ),
            (
                "unreadable",
                Embedded::Unreadable("segments".into()),
                Model::Rgb,
                "segments",
            ),
        ] {
            let layout = if model == Model::Gray {
                Layout::Gray
            } else {
                Layout::Rgb
            };
            let mut colour = Colour::new(embedded, model);
            let mut pixels = Pixels {
                data: vec![200, 40, 30],
                width: (3 / layout.channels()) as u32,
                height: 1,
                layout,
            };
            colour.apply(&mut pixels);
            let note = colour.note().unwrap_or_else(|| panic!("{name}: no note"));
            assert!(
                note.contains(why) && note.contains("taken as sRGB"),
                "{name}: {note}"
            );
            assert_eq!(pixels.data, vec![200, 40, 30], "{name}: pixels moved");
        }
        // A corrupt tag table may parse and fail only when the transform is built: never a panic.
        let _ = convert(bad_tag, Layout::Rgb, &[1, 2, 3]);
    }

    #[test]
    fn transforms_are_kept_per_profile_and_format() {
        let p3 = Colour::new(Embedded::Icc(display_p3()), Model::Rgb);
        let p3 = p3.source.as_ref().unwrap();
        let again = Colour::new(Embedded::Icc(display_p3()), Model::Rgb);
        let again = again.source.as_ref().unwrap();
        let first = p3
            .transform(PixelFormat::RGB_8, PixelFormat::RGB_8)
            .unwrap();
        let second = again
            .transform(PixelFormat::RGB_8, PixelFormat::RGB_8)
            .unwrap();
        assert!(Rc::ptr_eq(&first, &second), "the same profile builds once");
        let rgba = p3
            .transform(PixelFormat::RGBA_8, PixelFormat::RGBA_8)
            .unwrap();
        assert!(
            !Rc::ptr_eq(&first, &rgba),
            "another pixel format, another transform"
        );
        let adobe = Colour::new(Embedded::Icc(adobe_rgb()), Model::Rgb);
        let other = adobe.source.as_ref().unwrap();
        let other = other
            .transform(PixelFormat::RGB_8, PixelFormat::RGB_8)
            .unwrap();
        assert!(
            !Rc::ptr_eq(&first, &other),
            "another profile, another transform"
        );
        // A profile that differs in one byte (its last) is another key.
        let mut renamed = display_p3();
        let n = renamed.len();
        renamed[n - 1] ^= 1;
        if let Some(s) = Colour::new(Embedded::Icc(renamed), Model::Rgb)
            .source
            .as_ref()
        {
            let t = s.transform(PixelFormat::RGB_8, PixelFormat::RGB_8).unwrap();
            assert!(!Rc::ptr_eq(&first, &t));
        }
        // At most KEPT_TRANSFORMS per thread.
        TRANSFORMS.with(|kept| assert!(kept.borrow().len() <= KEPT_TRANSFORMS));
    }

    #[test]
    fn cmyk_without_a_profile_gets_the_default_one() {
        let mut colour = Colour::new(Embedded::None, Model::Cmyk { inverted: false });
        assert!(colour.converts());
        assert_eq!(colour.source.as_ref().unwrap().intent, Intent::Perceptual);
        // Paper white, full cyan, full black, 2 pixels per row.
        let mut data = vec![0, 0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 255, 0, 0, 0, 0];
        colour.cmyk_to_rgb(&mut data, 2);
        assert_eq!(data.len(), 12);
        assert!(
            data[..3].iter().all(|&v| v >= 250),
            "paper {:?}",
            &data[..3]
        );
        assert!(
            data[3] < 40 && data[4] > 120 && data[5] > 200,
            "cyan {:?}",
            &data[3..6]
        );
        assert!(
            data[6..9].iter().all(|&v| v < 70),
            "black {:?}",
            &data[6..9]
        );
        assert_eq!(&data[9..12], &data[..3]);
        // Adobe's inverted values: 255 is no ink.
        let mut inverted = Colour::new(Embedded::None, Model::Cmyk { inverted: true });
        let mut data = vec![255, 255, 255, 255];
        inverted.cmyk_to_rgb(&mut data, 1);
        assert!(data.iter().all(|&v| v >= 250), "{data:?}");
        // An RGB profile on CMYK pixels: ignored, the default profile converts.
        let mut wrong = Colour::new(Embedded::Icc(display_p3()), Model::Cmyk { inverted: false });
        assert!(wrong.converts());
        assert!(wrong.note().unwrap().contains("default CMYK"));
        let mut data = vec![0, 0, 0, 0];
        wrong.cmyk_to_rgb(&mut data, 1);
        assert!(data.iter().all(|&v| v >= 250));
    }
}

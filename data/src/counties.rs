//! The six county-level areas (区/县) of Jincheng, the ring-1 areas for an
//! incident outside the urban core. Drawn by hand at about 0.01° from
//! public administrative maps, like the city outline they tile: each
//! county's outline is made of stretches of the city outline ([`crate::facts::OUTLINE`]) and of the borders
//! drawn here between counties, so neighbours share their vertices exactly
//! and the six together cover the city with no gap and no overlap.
//!
//! Coordinates are (lat, lon) in degrees. A test compares each drawn
//! county with its real outline (intersection over union above 0.85).

use crate::plane::{P, Projection};

/// Where a county border meets the city outline: on the outline's edge
/// from vertex `edge` to the next, at `t` of its length.
#[derive(Debug, Clone, Copy)]
struct OnOutline {
    edge: usize,
    t: f64,
}

/// 陵川县 | 高平市, on the northern edge toward Changzhi.
const LINGCHUAN_GAOPING: OnOutline = OnOutline { edge: 30, t: 0.38 };
/// 泽州县 | 陵川县, on the Henan border.
const ZEZHOU_LINGCHUAN: OnOutline = OnOutline { edge: 5, t: 0.55 };
/// 阳城县 | 泽州县, on the Henan border.
const YANGCHENG_ZEZHOU: OnOutline = OnOutline { edge: 11, t: 0.33 };
/// 沁水县 | 阳城县, on the edge toward Yuncheng.
const QINSHUI_YANGCHENG: OnOutline = OnOutline { edge: 16, t: 0.48 };
/// 高平市 | 沁水县, on the northern edge toward Changzhi.
const GAOPING_QINSHUI: OnOutline = OnOutline { edge: 28, t: 0.5 };

/// Where three counties meet inside the city.
const QINSHUI_YANGCHENG_ZEZHOU: (f64, f64) = (35.53, 112.62);
const QINSHUI_ZEZHOU_GAOPING: (f64, f64) = (35.71, 112.72);
const LINGCHUAN_ZEZHOU_GAOPING: (f64, f64) = (35.66, 113.06);

/// The inner vertices of each border between counties, in the direction
/// named (from the first end to the second, both ends left out).
const QINSHUI_YANGCHENG_BORDER: [(f64, f64); 8] = [
    // from 沁水-阳城-泽州 to the outline
    (35.56, 112.60),
    (35.55, 112.47),
    (35.68, 112.42),
    (35.66, 112.21),
    (35.64, 112.19),
    (35.53, 112.24),
    (35.49, 112.11),
    (35.40, 112.07),
];
const QINSHUI_ZEZHOU_BORDER: [(f64, f64); 1] = [
    // from 沁水-泽州-高平 to 沁水-阳城-泽州
    (35.70, 112.65),
];
const QINSHUI_GAOPING_BORDER: [(f64, f64); 5] = [
    // from the outline to 沁水-泽州-高平
    (35.90, 112.78),
    (35.88, 112.74),
    (35.84, 112.75),
    (35.80, 112.70),
    (35.77, 112.73),
];
const YANGCHENG_ZEZHOU_BORDER: [(f64, f64); 6] = [
    // from 沁水-阳城-泽州 to the outline
    (35.40, 112.61),
    (35.39, 112.55),
    (35.35, 112.58),
    (35.33, 112.60),
    (35.29, 112.64),
    (35.29, 112.60),
];
const LINGCHUAN_ZEZHOU_BORDER: [(f64, f64); 2] = [
    // from the outline to 陵川-泽州-高平
    (35.53, 113.18),
    (35.63, 113.04),
];
const LINGCHUAN_GAOPING_BORDER: [(f64, f64); 5] = [
    // from 陵川-泽州-高平 to the outline
    (35.68, 113.08),
    (35.65, 113.11),
    (35.69, 113.14),
    (35.73, 113.16),
    (35.81, 113.11),
];
const ZEZHOU_GAOPING_BORDER: [(f64, f64); 6] = [
    // from 沁水-泽州-高平 to 陵川-泽州-高平
    (35.69, 112.78),
    (35.68, 112.83),
    (35.70, 112.87),
    (35.67, 112.96),
    (35.70, 113.00),
    (35.66, 113.05),
];

/// 城区, an enclave inside 泽州县 around the city centre.
const CHENGQU: [(f64, f64); 16] = [
    (35.58, 112.84),
    (35.59, 112.89),
    (35.56, 112.92),
    (35.52, 112.91),
    (35.52, 112.88),
    (35.48, 112.90),
    (35.43, 112.89),
    (35.45, 112.87),
    (35.43, 112.85),
    (35.45, 112.84),
    (35.46, 112.81),
    (35.48, 112.83),
    (35.52, 112.75),
    (35.55, 112.77),
    (35.55, 112.83),
    (35.56, 112.84),
];

/// A county's outline in the plane: its exterior and, for 泽州县, the
/// enclave it surrounds.
#[derive(Debug, Clone)]
pub struct County {
    /// Its name, such as `泽州县`.
    pub name: &'static str,
    /// Its administrative code.
    pub adcode: u32,
    /// Its exterior, open (the first vertex is not repeated).
    pub exterior: Vec<P>,
    /// Its holes, each open.
    pub holes: Vec<Vec<P>>,
}

/// The six counties, 城区 first, built on the city outline `outline` (the
/// plane image of [`OUTLINE`]).
pub fn counties(projection: &Projection, outline: &[P]) -> Vec<County> {
    let plane = |&(lat, lon): &(f64, f64)| projection.to_plane(lat, lon);
    let line = |points: &[(f64, f64)]| points.iter().map(plane).collect::<Vec<P>>();
    let reversed = |points: &[(f64, f64)]| points.iter().rev().map(plane).collect::<Vec<P>>();
    let on = |j: OnOutline| {
        let n = outline.len();
        outline[j.edge % n].lerp(outline[(j.edge + 1) % n], j.t)
    };
    // Outline vertices strictly after edge `from` starts up to edge `to`'s start.
    let stretch = |from: OnOutline, to: OnOutline| -> Vec<P> {
        let n = outline.len();
        let mut out = Vec::new();
        let mut k = (from.edge + 1) % n;
        loop {
            out.push(outline[k]);
            if k == to.edge {
                break;
            }
            k = (k + 1) % n;
        }
        out
    };
    let qyz = plane(&QINSHUI_YANGCHENG_ZEZHOU);
    let qzg = plane(&QINSHUI_ZEZHOU_GAOPING);
    let lzg = plane(&LINGCHUAN_ZEZHOU_GAOPING);
    let chain = |parts: Vec<Vec<P>>| parts.into_iter().flatten().collect::<Vec<P>>();

    let lingchuan = chain(vec![
        vec![on(LINGCHUAN_GAOPING)],
        stretch(LINGCHUAN_GAOPING, ZEZHOU_LINGCHUAN),
        vec![on(ZEZHOU_LINGCHUAN)],
        line(&LINGCHUAN_ZEZHOU_BORDER),
        vec![lzg],
        line(&LINGCHUAN_GAOPING_BORDER),
    ]);
    let zezhou = chain(vec![
        vec![on(ZEZHOU_LINGCHUAN)],
        stretch(ZEZHOU_LINGCHUAN, YANGCHENG_ZEZHOU),
        vec![on(YANGCHENG_ZEZHOU)],
        reversed(&YANGCHENG_ZEZHOU_BORDER),
        vec![qyz],
        reversed(&QINSHUI_ZEZHOU_BORDER),
        vec![qzg],
        line(&ZEZHOU_GAOPING_BORDER),
        vec![lzg],
        reversed(&LINGCHUAN_ZEZHOU_BORDER),
    ]);
    let yangcheng = chain(vec![
        vec![on(YANGCHENG_ZEZHOU)],
        stretch(YANGCHENG_ZEZHOU, QINSHUI_YANGCHENG),
        vec![on(QINSHUI_YANGCHENG)],
        reversed(&QINSHUI_YANGCHENG_BORDER),
        vec![qyz],
        line(&YANGCHENG_ZEZHOU_BORDER),
    ]);
    let qinshui = chain(vec![
        vec![on(QINSHUI_YANGCHENG)],
        stretch(QINSHUI_YANGCHENG, GAOPING_QINSHUI),
        vec![on(GAOPING_QINSHUI)],
        line(&QINSHUI_GAOPING_BORDER),
        vec![qzg],
        line(&QINSHUI_ZEZHOU_BORDER),
        vec![qyz],
        line(&QINSHUI_YANGCHENG_BORDER),
    ]);
    let gaoping = chain(vec![
        vec![on(GAOPING_QINSHUI)],
        stretch(GAOPING_QINSHUI, LINGCHUAN_GAOPING),
        vec![on(LINGCHUAN_GAOPING)],
        reversed(&LINGCHUAN_GAOPING_BORDER),
        vec![lzg],
        reversed(&ZEZHOU_GAOPING_BORDER),
        vec![qzg],
        reversed(&QINSHUI_GAOPING_BORDER),
    ]);
    let chengqu = line(&CHENGQU);
    vec![
        County {
            name: "城区",
            adcode: 140502,
            exterior: chengqu.clone(),
            holes: Vec::new(),
        },
        County {
            name: "泽州县",
            adcode: 140525,
            exterior: zezhou,
            holes: vec![chengqu],
        },
        County {
            name: "高平市",
            adcode: 140581,
            exterior: gaoping,
            holes: Vec::new(),
        },
        County {
            name: "阳城县",
            adcode: 140522,
            exterior: yangcheng,
            holes: Vec::new(),
        },
        County {
            name: "陵川县",
            adcode: 140524,
            exterior: lingchuan,
            holes: Vec::new(),
        },
        County {
            name: "沁水县",
            adcode: 140521,
            exterior: qinshui,
            holes: Vec::new(),
        },
    ]
}

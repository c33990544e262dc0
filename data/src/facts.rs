//! Facts about Jincheng the generator builds on: its outline, county seats,
//! terrain, road corridors and the roads that leave the city.
//!
//! Coordinates are (lat, lon) in degrees. The outline is drawn by hand at
//! about 0.01° from public administrative maps; seat positions are the
//! well-known town centres. Road names follow the real corridors, but their
//! alignments are approximate: the map is generated, not surveyed.

/// Where the local plane is centred: Jincheng's urban core (Chengqu).
pub const ORIGIN: (f64, f64) = (35.50, 112.85);

/// Jincheng's outline, clockwise from the north-east corner on the Henan
/// border. The first [`HENAN_BORDER_VERTICES`] vertices run along the
/// Shanxi–Henan border (Xinxiang, Jiaozuo, Jiyuan).
pub const OUTLINE: [(f64, f64); 31] = [
    (35.83, 113.59),
    (35.63, 113.62),
    (35.66, 113.55),
    (35.52, 113.51),
    (35.48, 113.31),
    (35.43, 113.30),
    (35.45, 113.19),
    (35.33, 113.13),
    (35.36, 113.00),
    (35.29, 112.98),
    (35.19, 112.71),
    (35.26, 112.64),
    (35.23, 112.64),
    (35.21, 112.57),
    (35.22, 112.29),
    (35.25, 112.30),
    (35.28, 112.06),
    (35.51, 111.95),
    (35.63, 111.94),
    (35.72, 112.04),
    (35.86, 112.05),
    (35.82, 112.19),
    (35.85, 112.21),
    (35.91, 112.14),
    (35.90, 112.38),
    (35.96, 112.52),
    (36.04, 112.53),
    (36.06, 112.63),
    (36.01, 112.69),
    (35.98, 112.87),
    (35.93, 112.88),
];

/// How many leading vertices of [`OUTLINE`] form the Henan border line.
pub const HENAN_BORDER_VERTICES: usize = 17;

/// A county-level town laid out as a street grid.
#[derive(Debug, Clone, Copy)]
pub struct Seat {
    pub key: &'static str,
    pub name: &'static str,
    pub county: &'static str,
    pub at: (f64, f64),
    /// Half the grid's width and height, metres.
    pub half_size: (f64, f64),
}

/// The county seats outside the urban core.
pub const SEATS: [Seat; 5] = [
    Seat {
        key: "zezhou",
        name: "泽州县城",
        county: "泽州县",
        at: (35.385, 112.875),
        half_size: (1600.0, 1300.0),
    },
    Seat {
        key: "gaoping",
        name: "高平市区",
        county: "高平市",
        at: (35.798, 112.924),
        half_size: (2300.0, 2000.0),
    },
    Seat {
        key: "yangcheng",
        name: "阳城县城",
        county: "阳城县",
        at: (35.486, 112.415),
        half_size: (2000.0, 1500.0),
    },
    Seat {
        key: "lingchuan",
        name: "陵川县城",
        county: "陵川县",
        at: (35.776, 113.281),
        half_size: (1500.0, 1300.0),
    },
    Seat {
        key: "qinshui",
        name: "沁水县城",
        county: "沁水县",
        at: (35.690, 112.187),
        half_size: (1400.0, 1000.0),
    },
];

/// Where a road leaves the city: a point a few kilometres beyond the
/// boundary, toward a neighbouring city.
#[derive(Debug, Clone, Copy)]
pub struct Exit {
    pub key: &'static str,
    pub toward: &'static str,
    pub at: (f64, f64),
    /// Whether this crosses the Shanxi–Henan border (ring 3) rather than
    /// only the city boundary (ring 2).
    pub henan: bool,
}

pub const EXITS: [Exit; 9] = [
    Exit {
        key: "changzhi_n",
        toward: "长治",
        at: (36.02, 112.92),
        henan: false,
    },
    Exit {
        key: "changzhi_ne",
        toward: "长治",
        at: (35.92, 113.30),
        henan: false,
    },
    Exit {
        key: "linfen",
        toward: "临汾",
        at: (35.78, 111.99),
        henan: false,
    },
    Exit {
        key: "yuncheng",
        toward: "运城",
        at: (35.40, 111.96),
        henan: false,
    },
    Exit {
        key: "jiyuan",
        toward: "济源",
        at: (35.17, 112.45),
        henan: true,
    },
    Exit {
        key: "jiaozuo",
        toward: "焦作",
        at: (35.19, 112.87),
        henan: true,
    },
    Exit {
        key: "boai",
        toward: "焦作博爱",
        at: (35.29, 113.07),
        henan: true,
    },
    Exit {
        key: "huixian",
        toward: "新乡辉县",
        at: (35.60, 113.58),
        henan: true,
    },
    Exit {
        key: "xinxiang_se",
        toward: "新乡",
        at: (35.46, 113.42),
        henan: true,
    },
];

/// A named trunk or provincial road as a chain of places ("core", a seat
/// key or an exit key); the generator routes it over the rural network.
#[derive(Debug, Clone, Copy)]
pub struct Corridor {
    pub highway: &'static str,
    pub reference: &'static str,
    pub name: &'static str,
    pub via: &'static [&'static str],
}

pub const CORRIDORS: [Corridor; 12] = [
    Corridor {
        highway: "trunk",
        reference: "G207",
        name: "207国道",
        via: &["changzhi_n", "gaoping", "core", "zezhou", "jiaozuo"],
    },
    Corridor {
        highway: "trunk",
        reference: "G342",
        name: "342国道",
        via: &["lingchuan", "core", "yangcheng", "yuncheng"],
    },
    Corridor {
        highway: "primary",
        reference: "S331",
        name: "晋沁线",
        via: &["core", "qinshui", "linfen"],
    },
    Corridor {
        highway: "primary",
        reference: "S327",
        name: "阳济线",
        via: &["yangcheng", "jiyuan"],
    },
    Corridor {
        highway: "primary",
        reference: "S226",
        name: "陵辉线",
        via: &["lingchuan", "huixian"],
    },
    Corridor {
        highway: "primary",
        reference: "S227",
        name: "高陵线",
        via: &["gaoping", "lingchuan", "changzhi_ne"],
    },
    Corridor {
        highway: "primary",
        reference: "S328",
        name: "阳沁线",
        via: &["yangcheng", "qinshui"],
    },
    Corridor {
        highway: "secondary",
        reference: "S229",
        name: "泽博线",
        via: &["zezhou", "boai"],
    },
    Corridor {
        highway: "secondary",
        reference: "S230",
        name: "陵新线",
        via: &["lingchuan", "xinxiang_se"],
    },
    Corridor {
        highway: "secondary",
        reference: "X101",
        name: "高沁线",
        via: &["gaoping", "qinshui"],
    },
    Corridor {
        highway: "secondary",
        reference: "X102",
        name: "泽阳线",
        via: &["zezhou", "yangcheng"],
    },
    Corridor {
        highway: "secondary",
        reference: "X103",
        name: "泽陵线",
        via: &["zezhou", "lingchuan"],
    },
];

/// An expressway as a polyline of (lat, lon). `from`/`to` name what each
/// end joins: "core" (the urban core), a seat key, "G55" (a junction with
/// that expressway) or "open" (it runs on beyond the city).
#[derive(Debug, Clone, Copy)]
pub struct Expressway {
    pub reference: &'static str,
    pub name: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub line: &'static [(f64, f64)],
}

pub const EXPRESSWAYS: [Expressway; 4] = [
    Expressway {
        reference: "G55",
        name: "二广高速",
        from: "open",
        to: "open",
        line: &[
            (36.03, 112.98),
            (35.92, 112.975),
            (35.80, 112.985),
            (35.68, 112.965),
            (35.58, 112.975),
            (35.47, 112.965),
            (35.37, 112.955),
            (35.30, 112.965),
            (35.21, 112.995),
        ],
    },
    Expressway {
        reference: "G5512",
        name: "晋新高速",
        from: "G55",
        to: "open",
        line: &[
            (35.47, 112.965),
            (35.472, 113.08),
            (35.468, 113.20),
            (35.47, 113.29),
            (35.455, 113.40),
        ],
    },
    Expressway {
        reference: "S86",
        name: "晋阳高速",
        from: "core",
        to: "open",
        line: &[
            (35.488, 112.755),
            (35.478, 112.62),
            (35.47, 112.50),
            (35.475, 112.43),
            (35.455, 112.25),
            (35.42, 112.10),
            (35.385, 111.93),
        ],
    },
    Expressway {
        reference: "S76",
        name: "陵川高速",
        from: "G55",
        to: "lingchuan",
        line: &[
            (35.64, 112.97),
            (35.665, 113.08),
            (35.72, 113.18),
            (35.76, 113.255),
        ],
    },
];

/// How mountainous a place is, 0 (basin) to 1 (high mountains): the
/// Taihang in the east (Lingchuan), the Zhongtiao in the south-west
/// (Yangcheng) and the Taiyue hills in the west (Qinshui).
pub fn mountain(lat: f64, lon: f64) -> f64 {
    let s = |v: f64| 1.0 / (1.0 + (-v).exp());
    let taihang = s((lon - 113.12) / 0.03) * 0.95;
    let zhongtiao = s((35.37 - lat) / 0.03) * s((112.62 - lon) / 0.04);
    let taiyue = 0.75 * s((112.45 - lon) / 0.05) * s((lat - 35.55) / 0.04);
    let hills = 0.35 * s((112.70 - lon) / 0.08);
    let southern_rim = 0.6 * s((35.30 - lat) / 0.02);
    taihang
        .max(zhongtiao)
        .max(taiyue)
        .max(hills)
        .max(southern_rim)
        .min(1.0)
}

/// Street names for the urban core's north–south arterials, west to east.
/// A few are Jincheng's real street names; most are invented.
pub const CORE_NS_NAMES: [&str; 30] = [
    "七岭店路",
    "景西路",
    "孔寨路",
    "书院街",
    "红星街",
    "古书院街",
    "凤台街",
    "泽州路",
    "黄华街",
    "文昌街",
    "太行路",
    "中原街",
    "金匠街",
    "兰花路",
    "晓庄街",
    "迎宾街",
    "白马寺路",
    "凤鸣街",
    "康乐街",
    "莲花路",
    "城隍街",
    "硝河路",
    "丹河路",
    "鸿春街",
    "晋韵街",
    "吉祥街",
    "崇文街",
    "秀水街",
    "牛山路",
    "晋庙铺路",
];

/// Street names for the urban core's east–west arterials, north to south.
pub const CORE_EW_NAMES: [&str; 26] = [
    "北石店路",
    "钟家庄路",
    "新市街",
    "前进路",
    "西大街",
    "东大街",
    "建设路",
    "学院路",
    "工人街",
    "富华街",
    "清华街",
    "瑞丰街",
    "景德路",
    "南大街",
    "北大街",
    "滨河路",
    "铁路街",
    "商业街",
    "青年路",
    "荣华街",
    "开发路",
    "西苑路",
    "二圣头路",
    "南村路",
    "金村路",
    "巴公路",
];

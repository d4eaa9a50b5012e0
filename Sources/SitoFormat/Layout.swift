// Layout.swift: the fixed parts of the `.sito` layout — magic, version, alignment, limits and dtypes
// (formats/sito.md, "Layout" and "Dtypes").

/// Format versions this code reads and writes.
public enum SitoFormatVersion {
    /// The newest version this build reads and writes. A writer stamps the lowest version that
    /// describes its file (`SitoHeader.requiredVersion`): 2 only when some tensor uses a layout other
    /// than row-major (format 1 readers would ignore the `layout` key and misread the data).
    public static let current = 2
}

/// How a tensor's elements are ordered in the data section (formats/sito.md, "Layouts").
public enum TensorLayout: String, Codable, Sendable, CaseIterable {
    /// Row-major (C order): the default, and the only layout of format 1.
    case rowMajor = "row-major"
    /// A [rows, cols] i8 or bf16 matrix in blocks of 16 rows, each 64-byte group holding G = 4 / size
    /// consecutive columns of 16 rows: element (r, c) is element number
    /// ((r / 16) · (cols / G) + c / G) · 16G + (r % 16) · G + c % G. Written by sito-quantize for the
    /// projection matrices (the kernels' register tiles read it directly).
    case blocked16

    /// Why `dtype` and `shape` cannot use this layout, or nil when they can.
    public func unsupportedReason(dtype: DType, shape: [Int]) -> String? {
        switch self {
        case .rowMajor:
            return nil
        case .blocked16:
            guard dtype == .i8 || dtype == .bf16 else { return "blocked16 holds only i8 or bf16 tensors, not \(dtype.rawValue)" }
            guard shape.count == 2 else { return "blocked16 needs a [rows, cols] matrix, not rank \(shape.count)" }
            let group = 4 / dtype.size
            guard shape[0] % 16 == 0, shape[1] % group == 0 else {
                return "blocked16 needs rows % 16 == 0 and cols % \(group) == 0, not \(shape)"
            }
            return nil
        }
    }
}

/// Constants of the container layout.
public enum SitoLayout {
    /// "SITO" in file order.
    public static let magic: [UInt8] = [0x53, 0x49, 0x54, 0x4F]
    /// magic (4) + version (4) + header_length (8).
    public static let preambleSize = 16
    /// Alignment of `data_offset` and of every tensor offset.
    public static let alignment = 64
    /// Upper bound of the JSON header; a bigger one is refused before anything is allocated.
    public static let maxHeaderLength = 16 << 20
    /// Tensor rank bound.
    public static let maxRank = 4
    /// Bound of one dimension (2^40), so that products of bounded dims are checked cheaply.
    public static let maxDimension = 1 << 40
    /// Bound of a tensor name's length in bytes.
    public static let maxNameLength = 255

    /// `value` rounded up to a multiple of `alignment`; nil on overflow.
    public static func aligned(_ value: Int, to alignment: Int = SitoLayout.alignment) -> Int? {
        let (sum, overflow) = value.addingReportingOverflow(alignment - 1)
        if overflow || value < 0 { return nil }
        return sum / alignment * alignment
    }
}

/// Bounds of the header's hyperparameters (formats/sito.md, invariant 4). The reader refuses a header
/// outside them; the converter refuses a config.json outside them before it derives any table, name
/// list or allocation from those numbers.
public enum SitoLimits {
    public static let layers = 1...1024
    public static let hidden = 1...65536
    public static let heads = 1...1024
    public static let ffn = 1...262_144
    public static let vocab = 1...16_777_216
    public static let maxPositions = 1...1_048_576
    public static let positionOffset = 0...1024
    public static let typeVocab = 1...1024
    public static let numLabels = 1...65536
    public static let maxLength = 4...1_048_576
}

/// Element types of tensors.
public enum DType: String, Codable, Sendable, CaseIterable {
    case f32, f16, bf16, i8, u8

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .i8, .u8: return 1
        }
    }
}

/// Canonical suffix of the scale companion of an `i8` tensor: `W` → `W.scale`.
public let scaleSuffix = ".scale"

/// Formats a checksum the way the header stores it: 16 lowercase hex digits.
public func hex64(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}

// APIError.swift: every error the server answers with: an HTTP status and the JSON body
// `{"error": message, "error_type": kind}` (TEI's shape; formats/serve-api.md lists them).
import Hummingbird

/// The kinds of error, as `error_type` spells them.
public enum APIErrorType: String, Sendable, Codable {
    /// 400: the body is not JSON, or not the shape the route takes.
    case malformed = "malformed"
    /// 413: the body is larger than --payload-limit.
    case payloadTooLarge = "payload_too_large"
    /// 422: the request is well-formed but cannot be served (empty texts, too many, too long, wrong model).
    case validation = "validation"
    /// 429: --max-concurrent-requests requests are already in flight.
    case overloaded = "overloaded"
    /// 503: the model is still loading, or the server is shutting down.
    case unhealthy = "unhealthy"
    /// 404: no such route.
    case notFound = "not_found"
    /// 405: a known route asked with a method it does not take (`GET /rerank`); `Allow` lists its methods.
    case methodNotAllowed = "method_not_allowed"
    /// 500: the model failed on a batch (a bug: inputs are validated before).
    case backend = "backend"
}

/// An error answered to the client.
public struct APIError: Error, Sendable, Equatable {
    public let status: HTTPResponse.Status
    public let type: APIErrorType
    public let message: String

    public init(_ status: HTTPResponse.Status, _ type: APIErrorType, _ message: String) {
        self.status = status
        self.type = type
        self.message = message
    }

    static func malformed(_ message: String) -> APIError { APIError(.badRequest, .malformed, message) }
    static func validation(_ message: String) -> APIError { APIError(.unprocessableContent, .validation, message) }
    static func tooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, .payloadTooLarge, "the request body is larger than the payload limit of \(limit) bytes")
    }
    static func overloaded(limit: Int) -> APIError {
        APIError(.tooManyRequests, .overloaded, "model is overloaded: \(limit) requests are already in flight (--max-concurrent-requests)")
    }
    static let loading = APIError(.serviceUnavailable, .unhealthy, "the model is loading")
    static let shuttingDown = APIError(.serviceUnavailable, .unhealthy, "the server is shutting down")

    /// The JSON body.
    struct Body: Codable {
        let error: String
        let error_type: String
    }

    var body: Body { Body(error: message, error_type: type.rawValue) }
}

// NotFound.swift: Hummingbird's own errors (an unknown route, a method a route does not take) answered
// in the server's JSON error shape, like every other error. Hummingbird answers 404 for both (its router
// looks a path up, then the method, and has no 405); MethodNotAllowedMiddleware tells them apart.
import HTTPTypes
import Hummingbird

struct JSONErrorMiddleware: RouterMiddleware {
    typealias Context = ServerContext

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let message = error.body ?? (error.status == .notFound ? "no route \(request.method) \(request.uri.path)" : error.status.reasonPhrase)
            return API.errorResponse(APIError(error.status, error.status == .notFound ? .notFound : .malformed, message))
        }
    }
}

/// 405 with `Allow` and the JSON error body for a known path asked with a method it does not take
/// (`GET /rerank`), instead of Hummingbird's 404. Added to the router AFTER every route: Hummingbird
/// applies a middleware only to the routes added after it, and to the not-found responder, so this one
/// runs only for requests no route answered.
struct MethodNotAllowedMiddleware: RouterMiddleware {
    typealias Context = ServerContext

    /// The methods of each registered path, by `key(_:)`: ["/rerank": [POST], "/health": [GET], …].
    let methods: [String: [HTTPRequest.Method]]

    /// - Parameter routes: `router.routes` once every route is registered (literal paths: the server has no
    ///   parameters or wildcards, which would need the router's own matching).
    init(routes: [Router<ServerContext>.RouteDescription]) {
        methods = Dictionary(grouping: routes, by: { Self.key($0.path.description) }).mapValues { $0.map(\.method) }
    }

    /// A path as the router matches it: empty components dropped ("/rerank/" is "/rerank").
    static func key(_ path: String) -> String {
        "/" + path.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
    }

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        guard let allowed = methods[Self.key(request.uri.path)], !allowed.contains(request.method) else {
            return try await next(request, context)
        }
        let names = allowed.map(\.rawValue).sorted()
        var response = API.errorResponse(APIError(.methodNotAllowed, .methodNotAllowed,
                                                  "\(request.uri.path) takes \(names.joined(separator: ", ")), not \(request.method.rawValue)"))
        response.headers[.allow] = names.joined(separator: ", ")
        return response
    }
}

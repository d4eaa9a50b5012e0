// NotFound.swift: Hummingbird's own errors (an unknown route, a method a route does not take) answered
// in the server's JSON error shape, like every other error.
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

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SecmodBase
import SecmodOffline
import SecmodSystem
import SecmodWire

/// The two requests of the offline flow, `GET` and `POST <base>management/keys` (offline-
/// signing spec §2, §8), over Foundation's URLSession (libcurl on Linux, so https works).
enum ExchangeHTTP {
    struct Response {
        let status: Int
        let body: [UInt8]
    }

    /// `<base>management/keys`; a base URL without a trailing '/' gets one, as the exchange's
    /// `BASE_URL` always has one.
    static func managementKeysURL(base: String) throws(SecmodError) -> URL {
        let normalised = base.hasSuffix("/") ? base : base + "/"
        guard let url = URL(string: normalised + "management/keys"), let scheme = url.scheme?.asciiLowercased,
              scheme == "http" || scheme == "https", url.host != nil else {
            throw SecmodError(.usage, "'\(base)' is not an exchange base URL; expected http:// or https:// and a host, such as 'https://exchange.example.com/'")
        }
        return url
    }

    static func get(_ url: URL, timeout: Double) throws(SecmodError) -> Response {
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = "GET"
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        return try perform(request)
    }

    static func post(_ url: URL, json: JSONValue, timeout: Double) throws(SecmodError) -> Response {
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        request.httpBody = Data(json.rendered(indent: 0).utf8)
        return try perform(request)
    }

    /// Runs one request to completion on URLSession's queue and waits for it.
    private static func perform(_ request: URLRequest) throws(SecmodError) -> Response {
        let outcome = Locked<Result<Response, SecmodError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let session = URLSession(configuration: .ephemeral)
        let what = "\(request.httpMethod ?? "GET") \(request.url?.absoluteString ?? "")"
        let task = session.dataTask(with: request) { data, response, error in
            let result: Result<Response, SecmodError>
            if let error {
                result = .failure(SecmodError(.unavailable, "\(what) failed: \(error.localizedDescription)"))
            } else if let http = response as? HTTPURLResponse {
                result = .success(Response(status: http.statusCode, body: data.map { [UInt8]($0) } ?? []))
            } else {
                result = .failure(SecmodError(.unavailable, "\(what): no HTTP response"))
            }
            outcome.withLock { $0 = result }
            done.signal()
        }
        task.resume()
        done.wait()
        session.finishTasksAndInvalidate()
        return try outcome.withLock { $0! }.get()
    }

    /// A short description of an error reply: Taler's `{"code", "hint"}` if it is one, else
    /// the start of the body.
    static func describe(_ response: Response) -> String {
        if let json = try? JSONValue.parse(response.body), case .object = json {
            var parts: [String] = []
            if case .number(let code)? = json["code"] { parts.append("Taler error code \(code)") }
            if case .string(let hint)? = json["hint"] { parts.append("hint: \(hint)") }
            if case .string(let detail)? = json["detail"] { parts.append("detail: \(detail)") }
            if !parts.isEmpty { return parts.joined(separator: ", ") }
        }
        let text = String(decoding: response.body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "empty body" : "body: \(text)"
    }
}

package org.remask.serve;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A request the server answers with an error, in OpenAI's shape: {@code {"error": {"message", "type", "param",
 * "code"}}}. Thrown anywhere in a handler; the server turns it into the response.
 */
final class ApiError extends RuntimeException {
    final int status;
    final String type;
    final String param;
    final String code;

    private ApiError(int status, String type, String message, String param, String code) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    static ApiError badRequest(String message, String param) {
        return new ApiError(400, "invalid_request_error", message, param, null);
    }

    static ApiError contextLength(String message) {
        return new ApiError(400, "invalid_request_error", message, "prompt", "context_length_exceeded");
    }

    static ApiError unknownModel(String model) {
        return new ApiError(404, "invalid_request_error", "The model '" + model + "' does not exist", "model",
                "model_not_found");
    }

    static ApiError notFound(String method, String path) {
        return new ApiError(404, "invalid_request_error", "no route " + method + " " + path, null, "not_found");
    }

    static ApiError tooLarge(long limit) {
        return new ApiError(413, "invalid_request_error", "the request body is over " + limit + " bytes", null,
                "request_too_large");
    }

    static ApiError busy(int waiting) {
        return new ApiError(429, "requests", "the server's queue is full (" + waiting + " generations waiting or"
                + " running); retry later", null, "rate_limit_exceeded");
    }

    static ApiError unavailable(String why) {
        return new ApiError(503, "server_error", why, null, "service_unavailable");
    }

    static ApiError internal(String message) {
        return new ApiError(500, "server_error", message, null, null);
    }

    Map<String, Object> body() {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("message", getMessage());
        error.put("type", type);
        error.put("param", param);
        error.put("code", code);
        return Map.of("error", error);
    }
}

/*
 * A small C host of libswarmpod for valgrind memcheck: creates and frees backends,
 * runs generations that fail in different ways, sets and unsets the log callback, and
 * frees every string the library returns. It exits non-zero when a call returns
 * something other than expected; valgrind adds its own exit code for memory errors
 * and leaks.
 *
 * With an argument (the emulator's RunPod API base URL) it also runs one full
 * generation against that emulator.
 */
#include <stdio.h>
#include <string.h>

#include <swarmpod/swarmpod.h>

static int failures = 0;
static int log_lines = 0;

static void SWARMPOD_CALL count_line(void *user_data, int32_t level, const char *message) {
    (void)user_data;
    (void)level;
    if (message != NULL && message[0] != '\0') {
        ++log_lines;
    }
}

static int32_t SWARMPOD_CALL count_image(void *user_data, const swarmpod_image *image) {
    int *images = (int *)user_data;
    if (image->size > 0) {
        ++*images;
    }
    return 0;
}

static void expect_status(const char *step, int32_t got, int32_t expected) {
    if (got != expected) {
        fprintf(stderr, "%s: status %d (%s), expected %d: %s\n", step, (int)got, swarmpod_strerror(got),
                (int)expected, swarmpod_last_error_message());
        ++failures;
    }
}

static void failed_generations(void) {
    /* Port 9 (discard) on loopback: nothing listens there in the test environment. */
    const char *config = "{\"EndpointId\": \"valgrind\", \"ApiBaseUrl\": \"http://127.0.0.1:9/v2\", "
                         "\"StartupTimeoutSec\": 5}";
    swarmpod_backend *backend = NULL;
    char *result = NULL;
    swarmpod_callbacks callbacks;

    expect_status("backend_new", swarmpod_backend_new(config, &backend), SWARMPOD_OK);
    if (backend == NULL) {
        return;
    }
    expect_status("generate without key",
                  swarmpod_generate(backend, "{\"prompt\": \"x\", \"images\": 1}", NULL, NULL, NULL, &result),
                  SWARMPOD_E_NO_API_KEY);
    swarmpod_string_free(result);
    result = NULL;
    expect_status("generate with bad JSON", swarmpod_generate(backend, "{nope", "key", NULL, NULL, &result),
                  SWARMPOD_E_INVALID_ARGUMENT);
    swarmpod_string_free(result);
    result = NULL;

    memset(&callbacks, 0, sizeof callbacks);
    callbacks.struct_size = sizeof callbacks;
    expect_status("generate to a closed port",
                  swarmpod_generate(backend, "{\"prompt\": \"x\", \"images\": 1}", "key", NULL, &callbacks, &result),
                  SWARMPOD_E_NETWORK);
    if (result == NULL) {
        fprintf(stderr, "generate to a closed port: no result JSON\n");
        ++failures;
    }
    swarmpod_string_free(result);
    swarmpod_backend_free(backend);

    expect_status("backend_new with unknown field", swarmpod_backend_new("{\"VerifyTls\": false}", &backend),
                  SWARMPOD_E_INVALID_CONFIG);
}

static void cancelled_generation(void) {
    const char *config = "{\"EndpointId\": \"valgrind\", \"ApiBaseUrl\": \"http://127.0.0.1:9/v2\"}";
    swarmpod_backend *backend = NULL;
    swarmpod_generation *generation = NULL;
    expect_status("backend_new", swarmpod_backend_new(config, &backend), SWARMPOD_OK);
    expect_status("generation_new", swarmpod_generation_new(&generation), SWARMPOD_OK);
    swarmpod_generation_cancel(generation);
    expect_status("cancelled generate",
                  swarmpod_generate(backend, "{\"prompt\": \"x\", \"images\": 1}", "key", generation, NULL, NULL),
                  SWARMPOD_E_CANCELLED);
    swarmpod_generation_free(generation);
    swarmpod_backend_free(backend);
}

static void full_generation(const char *api_base) {
    char config[512];
    swarmpod_backend *backend = NULL;
    swarmpod_callbacks callbacks;
    char *result = NULL;
    int images = 0;

    snprintf(config, sizeof config,
             "{\"EndpointId\": \"test-endpoint\", \"ApiBaseUrl\": \"%s\", \"AllowInsecureWorkerUrls\": true, "
             "\"PollIntervalMs\": 200, \"StartupTimeoutSec\": 60}",
             api_base);
    expect_status("backend_new for the emulator", swarmpod_backend_new(config, &backend), SWARMPOD_OK);
    if (backend == NULL) {
        return;
    }
    memset(&callbacks, 0, sizeof callbacks);
    callbacks.struct_size = sizeof callbacks;
    callbacks.on_image = count_image;
    callbacks.user_data = &images;
    expect_status("full generation",
                  swarmpod_generate(backend, "{\"prompt\": \"valgrind\", \"images\": 1, \"width\": 64, \"height\": 64}",
                                    "test-key", NULL, &callbacks, &result),
                  SWARMPOD_OK);
    if (images != 1) {
        fprintf(stderr, "full generation: %d images, expected 1\n", images);
        ++failures;
    }
    swarmpod_string_free(result);
    swarmpod_backend_free(backend);
}

int main(int argc, char **argv) {
    expect_status("set log callback", swarmpod_set_log_callback(count_line, NULL, SWARMPOD_LOG_TRACE), SWARMPOD_OK);
    failed_generations();
    cancelled_generation();
    if (argc > 1) {
        full_generation(argv[1]);
    }
    expect_status("unset log callback", swarmpod_set_log_callback(NULL, NULL, SWARMPOD_LOG_OFF), SWARMPOD_OK);
    if (log_lines == 0) {
        fprintf(stderr, "no log line arrived at trace level\n");
        ++failures;
    }
    if (failures != 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("ABI smoke run passed (%d log lines)\n", log_lines);
    return 0;
}

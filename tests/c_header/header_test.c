/* Compiles the public header as plain C99 and uses every type and function it declares,
 * so a C++-only construct or a missing declaration breaks the build. */
#include <swarmpod/swarmpod.h>

static int32_t SWARMPOD_CALL on_progress(void *user_data, const swarmpod_progress *event) {
    (void)user_data;
    return event->phase == SWARMPOD_PHASE_DONE ? 0 : 0;
}

static int32_t SWARMPOD_CALL on_image(void *user_data, const swarmpod_image *image) {
    (void)user_data;
    return image->width > 0 && image->gpu_seconds >= 0.0 ? 0 : 1;
}

static void SWARMPOD_CALL on_log(void *user_data, int32_t level, const char *message) {
    (void)user_data;
    (void)level;
    (void)message;
}

int swarmpod_header_check(void);

int swarmpod_header_check(void) {
    swarmpod_backend *backend = NULL;
    swarmpod_generation *generation = NULL;
    swarmpod_callbacks callbacks;
    char *result = NULL;
    int32_t status;

    if (swarmpod_version() / 10000 != SWARMPOD_VERSION_MAJOR) {
        return 1;
    }
    if (swarmpod_strerror(SWARMPOD_E_INVALID_CONFIG)[0] == '\0') {
        return 2;
    }
    if (swarmpod_set_log_callback(on_log, NULL, SWARMPOD_LOG_INFO) != SWARMPOD_OK) {
        return 3;
    }
    status = swarmpod_backend_new("{\"EndpointId\": \"\"}", &backend);
    if (status != SWARMPOD_E_INVALID_CONFIG || backend != NULL) {
        return 4;
    }
    if (swarmpod_last_error_message()[0] == '\0') {
        return 5;
    }
    if (swarmpod_generation_new(&generation) != SWARMPOD_OK) {
        return 6;
    }
    callbacks.struct_size = (uint32_t)sizeof(callbacks);
    callbacks.on_progress = on_progress;
    callbacks.on_image = on_image;
    callbacks.user_data = NULL;
    status = swarmpod_generate(NULL, "{}", NULL, generation, &callbacks, &result);
    if (status != SWARMPOD_E_INVALID_ARGUMENT) {
        return 7;
    }
    swarmpod_string_free(result);
    result = NULL;
    if (swarmpod_backend_features(NULL, &result) != SWARMPOD_E_INVALID_ARGUMENT || result != NULL) {
        return 8;
    }
    swarmpod_generation_cancel(generation);
    swarmpod_generation_free(generation);
    swarmpod_backend_free(NULL);
    swarmpod_set_log_callback(NULL, NULL, SWARMPOD_LOG_OFF);
    (void)swarmpod_version_string();
    return 0;
}

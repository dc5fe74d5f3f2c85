# Component "swarmui-extension": the files SwarmUI needs in src/Extensions/<folder>/ to build and
# load the RunPod Serverless extension, with libswarmpod in the folder root where the extension
# looks for it. Install it with
#   cmake --install build/release --component swarmui-extension --prefix <SwarmUI>/src/Extensions/SwarmPod
set(SWARMPOD_EXTENSION_COMPONENT swarmui-extension)

install(TARGETS swarmpod
    LIBRARY DESTINATION . COMPONENT ${SWARMPOD_EXTENSION_COMPONENT} NAMELINK_COMPONENT ${SWARMPOD_EXTENSION_COMPONENT}
    RUNTIME DESTINATION . COMPONENT ${SWARMPOD_EXTENSION_COMPONENT})
install(FILES
        "${PROJECT_SOURCE_DIR}/SwarmPodExtension.csproj"
        "${PROJECT_SOURCE_DIR}/RunPodServerlessExtension.cs"
        "${PROJECT_SOURCE_DIR}/LICENSE"
    DESTINATION .
    COMPONENT ${SWARMPOD_EXTENSION_COMPONENT})
install(FILES "${PROJECT_SOURCE_DIR}/docs/swarmui-extension.md"
    DESTINATION .
    RENAME README.md
    COMPONENT ${SWARMPOD_EXTENSION_COMPONENT})
foreach(source_dir SwarmUI.RunPodServerless SwarmPod.Native)
    # The csproj at the folder root compiles these by their repository paths, so the layout is kept.
    install(DIRECTORY "${PROJECT_SOURCE_DIR}/bindings/csharp/${source_dir}/"
        DESTINATION "bindings/csharp/${source_dir}"
        COMPONENT ${SWARMPOD_EXTENSION_COMPONENT}
        FILES_MATCHING PATTERN "*.cs"
        PATTERN "bin" EXCLUDE
        PATTERN "obj" EXCLUDE)
endforeach()

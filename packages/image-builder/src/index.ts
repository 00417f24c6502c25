export {
  type BuildImagesOptions,
  type BuildResult,
  type BuiltImage,
  type BuiltPlatformImage,
  buildImages,
  defaultRepository,
  repositoryRoot,
} from "./build-images.js";
export { buildRecordFileName, loadBuiltImages } from "./build-record.js";
export {
  type ImageDefinition,
  type ImageName,
  imageDefinitions,
  imageNames,
} from "./image-definitions.js";
export { imageInputsDirectory } from "./inputs/cache-directory.js";
export { type ImageInputsLock, lockFileName } from "./inputs/image-inputs-lock.js";
export { type AppBundle, type BundledPackage, buildAppBundle } from "./layers/app-bundle.js";
export { debianPackageNames, nonRootId } from "./layers/base-layer.js";
export { nodePath } from "./layers/node-layer.js";
export { type ImagePlatform, imagePlatforms, platformNames } from "./platforms.js";
export { type PushedImage, type PushImagesOptions, pushImages } from "./push-images.js";
export { spdxMediaType } from "./sbom/spdx-document.js";
export { chartAppVersion, chartFile } from "./source-metadata.js";
export { readTar } from "./tar/tar-reader.js";

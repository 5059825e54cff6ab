import { join } from 'node:path';
import { packageRoot } from '../pipeline/paths.js';

export { packageRoot };

/** The default land-cover model shipped in models/. */
export const defaultModelDir = (): string => join(packageRoot(), 'models', 'spectral-v1');

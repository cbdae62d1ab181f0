/** Governor's modules. A module is a folder here and one line below. */
import { defineModules } from '../framework/registry';
import { lazyload } from './lazyload';
import { limiter } from './limiter';
import { metarouter } from './metarouter';
import { plugin } from './plugin';

export const MODULES = defineModules([limiter, lazyload, plugin, metarouter]);

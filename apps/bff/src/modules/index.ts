/** Governor's modules. A module is a folder here and one line below. */
import { limiter } from './limiter';

export const MODULES = [limiter] as const;

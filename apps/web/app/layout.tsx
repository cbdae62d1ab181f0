import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { ApiProvider } from '../lib/trpc';
import './globals.css';

export const metadata: Metadata = {
  title: 'Governor',
  description: 'Adaptive rate limiting for Istio service meshes',
};

// Sets the theme before the first paint: the stored choice, else the system's.
const themeScript = `try{var t=localStorage.getItem('governor-theme');if(t==='dark'||(!t&&matchMedia('(prefers-color-scheme: dark)').matches))document.documentElement.classList.add('dark')}catch(e){}`;

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en" suppressHydrationWarning>
      <head>
        <script dangerouslySetInnerHTML={{ __html: themeScript }} />
      </head>
      <body className="min-h-screen bg-slate-50 text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
        <ApiProvider>{children}</ApiProvider>
      </body>
    </html>
  );
}

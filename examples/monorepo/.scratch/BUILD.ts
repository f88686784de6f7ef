throw new Error('dot-directories must be skipped');
